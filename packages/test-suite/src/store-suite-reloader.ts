import { callbackBinding, createReloader, type Reloader } from '@apphook/core';
import { watchEntities } from '@apphook/mikro-orm';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { describe, expect, it, vi } from 'vitest';
import type { SuiteContext, SuiteStore } from './store-suite-context.js';

interface Routes {
  version: number;
  paths: string[];
}

/** A real reloader on top of the store: read-your-writes in the writer, convergence elsewhere (G3, G4). */
export function storeSuiteReloader(c: SuiteContext): void {
  const prefixOf = (scope: string) => `/${scope}/`;

  function reloaderFor(orm: MikroORM, store: SuiteStore, scope: string, intervalMs: number) {
    const binding = callbackBinding<Routes>({
      // Reads the rows the version describes: a build started after the commit must see them (G4).
      rebuildRoutes: async ({ version }) => {
        const pages = await orm.em.fork().find(c.Page, {}, { orderBy: { id: 'asc' } });
        const paths = pages.map((p) => p.path).filter((p) => p.startsWith(prefixOf(scope)));
        return { version, paths };
      },
    });
    const reloader: Reloader<Routes, EntityManager> = createReloader({
      store,
      binding,
      scope,
      mode: 'interval',
      intervalMs,
      jitterMs: 0,
      logger: false,
    });
    return { reloader, binding };
  }

  // Waits below only catch a hang: a build takes milliseconds alone, seconds with the suite running beside it
  // on 2 cores. What each test checks (which version, which rows) does not depend on how long it took.
  const settled = { timeout: 60_000 };

  describe('with a real reloader', { timeout: 180_000 }, () => {
    it('serves the new version in the writing process once em.transactional() resolves', async () => {
      const scope = c.scope('writer');
      // A poll far in the future: only the after-commit hook can make this pass.
      const { reloader, binding } = reloaderFor(c.orm, c.store, scope, 600_000);
      await reloader.start();
      try {
        expect(reloader.version).toBe(0);
        const version = await c.tx(async (em) => {
          em.create(c.Page, { path: `${prefixOf(scope)}a` });
          await em.flush();
          const v = await reloader.markChanged(em);
          await reloader.markChanged(em);
          return v + 1;
        });
        expect(reloader.version).toBe(version);
        expect(binding.current).toEqual({ version, paths: [`${prefixOf(scope)}a`] });
        // A rolled-back change is neither built nor served.
        await c
          .tx(async (em) => {
            em.create(c.Page, { path: `${prefixOf(scope)}lost` });
            await reloader.markChanged(em);
            throw new Error('rollback');
          })
          .catch(() => {});
        expect(reloader.version).toBe(version);
        expect(await c.store.read(scope)).toBe(version);
      } finally {
        await reloader.stop();
      }
    });

    it('converges a second reloader on its own ORM instance by polling', async () => {
      const scope = c.scope('follower');
      const orm2 = await c.options.createOrm(c.entities);
      const store2 = c.options.createStore(orm2, { tableName: c.tableName });
      const writer = reloaderFor(c.orm, c.store, scope, 600_000);
      const follower = reloaderFor(orm2, store2, scope, 40);
      try {
        // Inside try: a start() that fails still stops the other reloader and closes the second ORM.
        await writer.reloader.start();
        await follower.reloader.start();
        for (const name of ['x', 'y']) {
          const version = await c.tx(async (em) => {
            em.create(c.Page, { path: `${prefixOf(scope)}${name}` });
            return writer.reloader.markChanged(em);
          });
          await vi.waitFor(() => expect(follower.reloader.version).toBe(version), settled);
          expect(follower.binding.current?.paths).toContain(`${prefixOf(scope)}${name}`);
        }
      } finally {
        await follower.reloader.stop();
        await writer.reloader.stop();
        // Waits for the follower's build that stop() aborted while it still queried orm2 (its rebuildRoutes reads
        // through the ORM and ignores the signal); closing orm2 before it ended hung this test for 180 s.
        await store2.close();
        await orm2.close(true);
      }
    });

    it('rebuilds the writing process after a plain em.flush() of watched entities', async () => {
      const scope = c.scope('watched');
      const { reloader, binding } = reloaderFor(c.orm, c.store, scope, 600_000);
      await reloader.start();
      const unwatch = watchEntities(c.orm, { entities: [c.Page], reloader });
      try {
        const em = c.orm.em.fork();
        em.create(c.Page, { path: `${prefixOf(scope)}flushed` });
        await em.flush();
        expect(reloader.version).toBe(1);
        expect(binding.current?.paths).toEqual([`${prefixOf(scope)}flushed`]);
      } finally {
        unwatch();
        await reloader.stop();
      }
    });

    it('labels each build with the version its rows were read at, even when a commit lands during the build (G4)', async () => {
      const scope = c.scope('exact');
      const pagesOf = (em: EntityManager) => em.count(c.Page, { path: { $like: `${prefixOf(scope)}%` } });
      const builds: Array<{ version: number; pages: number; naive: number }> = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered!: () => void;
      const inBuildOfOne = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const binding = callbackBinding<Routes>({
        rebuildRoutes: async ({ version, em }) => {
          if (version === 1) {
            entered();
            await gate; // the test commits version 2 now, while this build runs
          }
          const pages = await pagesOf(em as EntityManager);
          // The negative control: the rows read outside the build's snapshot, as a build that ignores `em` does.
          const naive = await pagesOf(c.orm.em.fork());
          builds.push({ version, pages, naive });
          return { version, paths: [] };
        },
      });
      const reloader = createReloader({
        store: c.store,
        binding,
        scope,
        mode: 'interval',
        intervalMs: 20,
        jitterMs: 0,
        logger: false,
      });
      await reloader.start();
      const commitPage = (name: string) =>
        c.tx(async (em) => {
          em.create(c.Page, { path: `${prefixOf(scope)}${name}` });
          await em.flush();
          // A bare bump: this process learns of it by polling, like any other process would.
          return c.store.bump(em, scope);
        });
      try {
        expect(await commitPage('one')).toBe(1);
        await inBuildOfOne;
        expect(await commitPage('two')).toBe(2);
        release();
        await vi.waitFor(() => expect(reloader.version).toBe(2), settled);
        // Version 1's build saw exactly version 1's rows, though version 2 committed while it ran; read outside
        // its snapshot, the same build would have served version 2's rows under label 1.
        expect(builds.find((b) => b.version === 1)).toEqual({ version: 1, pages: 1, naive: 2 });
        for (const build of builds) expect(build.pages).toBe(build.version);
      } finally {
        release();
        await reloader.stop();
      }
    });
  });
}
