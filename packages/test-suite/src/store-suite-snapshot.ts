import { raceTimeout } from '@apphook/core';
import type { EntityManager } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext, SuiteStore } from './store-suite-context.js';

/** Only catches a hang: closing an ORM takes milliseconds, seconds on a loaded machine. */
const HANG_MS = 20_000;

/**
 * Exact builds (G4): `readSnapshot` reads the version and the rows in one snapshot, so a commit landing
 * between the two reads cannot label version v with the rows of v+1. Run by every SQL store.
 */
export function storeSuiteSnapshot(c: SuiteContext): void {
  /** One committed edit: a page row and a bump, in one transaction, as an editor would. */
  const commitPage = (scope: string, n: number) =>
    c.tx(async (em) => {
      em.create(c.Page, { path: `/${scope}/${n}` });
      await em.flush();
      return c.store.bump(em, scope);
    });
  const pagesOf = (em: EntityManager, scope: string) => em.count(c.Page, { path: { $like: `/${scope}/%` } });
  const readSnapshot: SuiteStore['readSnapshot'] = (scope, fn, signal) =>
    c.store.readSnapshot(scope, fn, signal);
  // More snapshots than the ORM's pool has connections: a snapshot that stayed open would exhaust it.
  const manyTimes = 12;

  describe('read snapshots (G4 exact builds)', () => {
    it('reads the version and the rows of one snapshot while another connection commits in between', async () => {
      const scope = c.scope('snapshot');
      expect(await commitPage(scope, 1)).toBe(1);
      const seen = await readSnapshot(scope, async ({ version, em }) => {
        // Version 2 commits after this snapshot read version 1 and before it reads the rows.
        expect(await commitPage(scope, 2)).toBe(2);
        return { version, pages: await pagesOf(em, scope) };
      });
      expect(seen).toEqual({ version: 1, pages: 1 });
      expect(await c.store.read(scope)).toBe(2);
    });

    it('negative control: reading the version and then the rows outside one snapshot labels v with v+1 rows', async () => {
      const scope = c.scope('naive');
      await commitPage(scope, 1);
      const version = await c.store.read(scope);
      await commitPage(scope, 2);
      const pages = await pagesOf(c.orm.em.fork(), scope);
      // The label lag readSnapshot exists to prevent: version 1 served with version 2's rows.
      expect({ version, pages }).toEqual({ version: 1, pages: 2 });
    });

    // Rounds go on until the writer committed a few times and the naive way was caught out once: on a loaded
    // machine the writer may commit less often than a round takes, so a fixed number of rounds could miss it.
    // The cap and the timeout only catch a writer that stopped.
    it('labels every snapshot with exactly its rows while a writer commits continuously, where the naive way does not', {
      timeout: 180_000,
    }, async () => {
      const scope = c.scope('load');
      let writing = true;
      let committed = 0;
      // Each commit adds one page and one bump: a consistent view has as many pages as its version says.
      const writer = (async () => {
        while (writing) {
          committed = await commitPage(scope, committed + 1);
          // SQLite's driver settles in microtasks only: yield, or the readers' timers never fire.
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      const pause = () => new Promise((resolve) => setTimeout(resolve, 15));
      const exact: Array<[number, number]> = [];
      const naive: Array<[number, number]> = [];
      try {
        const lagging = () => naive.some(([version, pages]) => version !== pages);
        for (let i = 0; i < 15 || ((committed <= 5 || !lagging()) && i < 500); i++) {
          exact.push(
            await readSnapshot(scope, async ({ version, em }) => {
              await pause(); // a build that takes a moment before its query
              return [version, await pagesOf(em, scope)] as [number, number];
            }),
          );
          const version = await c.store.read(scope);
          await pause();
          naive.push([version, await pagesOf(c.orm.em.fork(), scope)]);
        }
      } finally {
        writing = false;
        await writer;
      }
      expect(committed).toBeGreaterThan(5);
      expect(exact.filter(([version, pages]) => version !== pages)).toEqual([]);
      // Negative control, same load and pause: the version read alone lags behind the rows read later.
      expect(naive.filter(([version, pages]) => version !== pages).length).toBeGreaterThan(0);
    });

    it("never sees an uncommitted bump, and runs while a caller's write transaction stays open", async () => {
      const scope = c.scope('uncommitted');
      await commitPage(scope, 1);
      await c.tx(async (em) => {
        em.create(c.Page, { path: `/${scope}/2` });
        await em.flush();
        expect(await c.store.bump(em, scope)).toBe(2);
        // Awaited inside the open write transaction: a snapshot on its connection would deadlock here.
        const seen = await readSnapshot(scope, async (snap) => ({
          version: snap.version,
          pages: await pagesOf(snap.em, scope),
        }));
        expect(seen).toEqual({ version: 1, pages: 1 });
      });
      const after = await readSnapshot(scope, async (snap) => ({
        version: snap.version,
        pages: await pagesOf(snap.em, scope),
      }));
      expect(after).toEqual({ version: 2, pages: 2 });
    });

    it('hands fn a fork of its own and rolls the snapshot back after fn returns', async () => {
      const scope = c.scope('fork');
      await commitPage(scope, 1);
      let em: EntityManager | undefined;
      const result = await readSnapshot(scope, async (snap) => {
        em = snap.em;
        expect(snap.em.isInTransaction()).toBe(true);
        expect(snap.em).not.toBe(c.orm.em);
        return 'built';
      });
      expect(result).toBe('built');
      expect(em?.isInTransaction()).toBe(false);
    });

    it("ends the snapshot after fn throws and passes fn's error through unchanged", async () => {
      const scope = c.scope('throws');
      await commitPage(scope, 1);
      const boom = new Error('rebuild failed');
      const ems: EntityManager[] = [];
      for (let i = 0; i < manyTimes; i++) {
        await expect(
          readSnapshot(scope, async (snap) => {
            ems.push(snap.em);
            await pagesOf(snap.em, scope);
            throw boom;
          }),
        ).rejects.toBe(boom);
      }
      expect(ems.every((em) => !em.isInTransaction())).toBe(true);
      // Every snapshot gave its connection back: a new one opens and sees a new commit.
      await commitPage(scope, 2);
      expect(await readSnapshot(scope, async (snap) => snap.version)).toBe(2);
    });

    it('ends the snapshot at once when the signal aborts, and rejects with the reason', async () => {
      const scope = c.scope('abort');
      await commitPage(scope, 1);
      const ems: EntityManager[] = [];
      for (let i = 0; i < manyTimes; i++) {
        const controller = new AbortController();
        let release: () => void = () => {};
        const stuck = new Promise<void>((resolve) => {
          release = resolve;
        });
        const reason = new Error(`stopped ${i}`);
        const running = readSnapshot(
          scope,
          async (snap) => {
            ems.push(snap.em);
            controller.abort(reason);
            await stuck; // a build that ignores the signal
            return snap.version;
          },
          controller.signal,
        );
        await expect(running).rejects.toBe(reason);
        expect(ems[i]?.isInTransaction()).toBe(false);
        release();
      }
      await commitPage(scope, 2);
      expect(await readSnapshot(scope, async (snap) => snap.version)).toBe(2);
    });

    it('store.close() waits for a snapshot function that goes on after its abort, so the ORM closes next', async () => {
      // A fresh ORM, as a worker process has: its pool holds one idle connection, which the snapshot takes, so
      // the rebuild's own query has to open a second one.
      const orm2 = await c.options.createOrm(c.entities);
      const store2 = c.options.createStore(orm2, { tableName: c.tableName });
      const scope = c.scope('abort-close');
      let ended = false;
      let closing: Promise<void> | undefined;
      try {
        await commitPage(scope, 1);
        expect(await store2.read(scope)).toBe(1);
        const controller = new AbortController();
        const running = store2.readSnapshot(
          scope,
          async () => {
            // A rebuild that reads through the ORM, not the snapshot, and ignores the signal: reloader.stop()
            // aborts it while its query is still waiting for that second connection.
            const pages = orm2.em.fork().count(c.Page, { path: { $like: `/${scope}/%` } });
            controller.abort(new Error('stopped'));
            try {
              return await pages;
            } finally {
              ended = true;
            }
          },
          controller.signal,
        );
        await expect(running).rejects.toThrow('stopped');
        // The documented shutdown: the store, then the ORM. Without the wait, MikroORM 7 closed its pool while
        // that connection was being opened, never released it, and orm.close() waited forever (CI: 180 s).
        await store2.close();
        expect(ended).toBe(true);
        closing = orm2.close(true);
        await raceTimeout(closing, HANG_MS, 'orm.close() after store.close() hung');
      } finally {
        if (!closing) {
          await store2.close();
          await raceTimeout(orm2.close(true), HANG_MS, 'orm.close() hung');
        }
      }
    });

    it('store.close() waits for a read still in flight, so the ORM closes next', async () => {
      // A reloader's poll that was reading when stop() came: stop() does not wait for it, store.close() does.
      const orm2 = await c.options.createOrm(c.entities);
      const store2 = c.options.createStore(orm2, { tableName: c.tableName });
      const scope = c.scope('read-close');
      let read = false;
      // The fresh ORM's first query: it is still connecting when the store closes.
      const reading = store2.read(scope).finally(() => {
        read = true;
      });
      await store2.close();
      expect(read).toBe(true);
      expect(await reading).toBe(0);
      await raceTimeout(orm2.close(true), HANG_MS, 'orm.close() after store.close() hung');
    });

    it('rejects with the reason and opens nothing when the signal is already aborted', async () => {
      const reason = new Error('already stopped');
      let ran = false;
      await expect(
        readSnapshot(
          c.scope('pre-aborted'),
          async () => {
            ran = true;
          },
          AbortSignal.abort(reason),
        ),
      ).rejects.toBe(reason);
      expect(ran).toBe(false);
    });

    it("refuses writes through the snapshot's EntityManager: it is read only", async () => {
      const scope = c.scope('read-only');
      const path = `/${scope}/written`;
      await expect(
        readSnapshot(scope, async ({ em }) => {
          em.create(c.Page, { path });
          await em.flush();
        }),
      ).rejects.toThrow();
      expect(await c.orm.em.fork().count(c.Page, { path })).toBe(0);
    });

    it('reads 0 and no rows for a scope that was never bumped', async () => {
      const scope = c.scope('never');
      const seen = await readSnapshot(scope, async (snap) => ({
        version: snap.version,
        pages: await pagesOf(snap.em, scope),
      }));
      expect(seen).toEqual({ version: 0, pages: 0 });
    });
  });
}
