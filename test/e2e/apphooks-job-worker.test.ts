/**
 * A job worker (no HTTP server, `callbackBinding`) builds links with `url()`. On PostgreSQL with LISTEN/NOTIFY
 * as the only channel, its links follow a committed page move within the push delay, and every link it builds
 * is routed by the site's router of the same version. The control: a worker that read its links once, the
 * way django CMS job workers do (its issue 5789), keeps pointing to a path the site no longer routes.
 */
import type { AddressInfo } from 'node:net';
import { type ApphookBuild, createApphooks, defineApp, urlsOf } from '@apphook/apphooks';
import { expressRouter } from '@apphook/apphooks/express';
import { callbackBinding, createReloader, type RebuildContext } from '@apphook/core';
import { expressBinding } from '@apphook/express';
import { defineApphookToken } from '@apphook/mikro-orm';
import { postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import { EntitySchema } from '@mikro-orm/core';
import { type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('postgres');

interface PageRow {
  id: number;
  path: string;
  application: string | null;
  namespace: string | null;
}

const PAGES = 'ahs_apphooks_jw_pages';
const TOKEN = 'ahs_apphooks_jw_token';
const CHANNEL = 'ahs_apphooks_jw';
const SCOPE = 'pages';

const Page = new EntitySchema<PageRow>({
  name: 'ApphooksJobWorkerPage',
  tableName: PAGES,
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    path: { type: 'string', length: 191 },
    application: { type: 'string', length: 64, nullable: true },
    namespace: { type: 'string', length: 64, nullable: true },
  },
});
const Token = defineApphookToken({ tableName: TOKEN });

const blog = defineApp({
  name: 'blog',
  routes: { list: '/', post: '/:slug' },
  handlers: {
    list: ({ reverse, version }) => ({ json: { version, post: reverse('post', { slug: 'hello' }) } }),
    post: ({ params, version }) => ({ json: { version, slug: params.slug } }),
  },
});
const apphooks = createApphooks({ apps: [blog], logger: false });

/** Pages in the build's own snapshot when the store hands one (G4), else a fresh read. */
async function loadPages(orm: MikroORM, context: RebuildContext): Promise<PageRow[]> {
  const em = ((context as { em?: EntityManager }).em ?? orm.em.fork()) as EntityManager;
  return em.find(Page, {}, { orderBy: { id: 'asc' } });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.skipIf(!available)('apphooks in a job worker', () => {
  let siteOrm: MikroORM;
  let workerOrm: MikroORM;
  const stops: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    const options = { entities: [Page, Token], clientUrl: services.postgres, pool: { min: 0, max: 4 } };
    siteOrm = await MikroORM.init(options);
    workerOrm = await MikroORM.init(options);
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await siteOrm?.close(true);
    await workerOrm?.close(true);
  });

  it('builds links that follow a committed page move by push, each routed by the site at its version', async () => {
    const siteStore = postgresStore(siteOrm, { tableName: TOKEN, channel: CHANNEL });
    const workerStore = postgresStore(workerOrm, { tableName: TOKEN, channel: CHANNEL });
    await siteStore.ensureSchema();
    const em = siteOrm.em.fork();
    await em.execute(
      `create table if not exists ${PAGES} (id serial primary key, path varchar(191) not null, application varchar(64), namespace varchar(64))`,
    );
    await em.execute(`delete from ${PAGES}`);
    await em.execute(
      `insert into ${PAGES} (path, application, namespace) values ('/about', null, null), ('/blog', 'blog', 'news')`,
    );

    // The site: its builds by version, to check the worker's links against the router of the same version.
    const siteBuilds = new Map<number, ApphookBuild>();
    const siteBinding = expressBinding({
      rebuildRoutes: async (context) => {
        const build = apphooks.build(await loadPages(siteOrm, context), context);
        siteBuilds.set(build.version, build);
        return expressRouter(build);
      },
    });
    const site = createReloader({ store: siteStore, binding: siteBinding, scope: SCOPE, logger: false });
    const app = express();
    app.use(siteBinding.middleware);
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stops.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    // The job worker: push only (the safety poll is a minute away), so a fast follow can only be the push.
    const workerBinding = callbackBinding({
      rebuildRoutes: async (context) => apphooks.build(await loadPages(workerOrm, context), context),
    });
    const worker = createReloader({
      store: workerStore,
      binding: workerBinding,
      scope: SCOPE,
      mode: 'push',
      intervalMs: 60_000,
      safetyIntervalMs: 60_000,
      logger: false,
    });
    stops.push(
      () => worker.stop(),
      () => site.stop(),
      () => workerStore.close(),
      () => siteStore.close(),
    );
    await site.start();
    await worker.start();
    const urls = urlsOf<readonly [typeof blog]>(workerBinding);

    // The control: links read once at start, never rebuilt.
    const naiveLink = urls.url('news:post', { slug: 'hello' });

    // Jobs run all along: each takes the build once and links from it.
    const links: Array<{ version: number; link: string }> = [];
    let running = true;
    const jobs = (async () => {
      while (running) {
        const build = urls.current();
        links.push({ version: build.version, link: build.url('news:post', { slug: 'hello' }) });
        await sleep(2);
      }
    })();

    const delays: number[] = [];
    try {
      for (const path of ['/news', '/journal', '/press', '/blog/archive', '/updates']) {
        const committed = await siteOrm.em.fork().transactional(async (tx) => {
          await tx.nativeUpdate(Page, { namespace: 'news' }, { path });
          return site.markChanged(tx);
        });
        const startedAt = performance.now();
        const deadline = startedAt + 10_000;
        while (urls.version! < committed) {
          if (performance.now() > deadline)
            throw new Error(`the worker did not serve version ${committed} within 10 s`);
          await sleep(2);
        }
        delays.push(performance.now() - startedAt);
        const link = urls.url('news:post', { slug: 'hello' });
        expect(link).toBe(`${path}/hello`);
        // The site serves the same version: the link is routed there, by the blog.
        expect(site.version).toBe(committed);
        const response = await fetch(`${base}${link}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ version: committed, slug: 'hello' });
        expect((await fetch(`${base}${naiveLink}`)).status, 'the link read once at start').toBe(404);
      }
    } finally {
      running = false;
      await jobs;
    }

    console.info(`[apphooks job worker] push delays (ms): ${delays.map((d) => d.toFixed(0)).join(', ')}`);
    expect(links.length).toBeGreaterThan(5);
    const unrouted = links.filter(({ version, link }) => {
      const served = siteBuilds.get(version);
      return (
        served?.match(link)?.route.name !== 'post' || served.url('news:post', { slug: 'hello' }) !== link
      );
    });
    expect(unrouted).toEqual([]);
    // Versions only grow in the worker's jobs (G3).
    expect(links.every((entry, i) => i === 0 || entry.version >= links[i - 1]!.version)).toBe(true);
  });
});
