/**
 * One hot-path variant in a process of its own: an Express app serving the pages table as routes, either
 * bare (built once at startup, no apphook), through apphook in one mode, or through the naive django CMS
 * middleware. The parent loads it with autocannon and asks it how many token reads it made.
 */
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { createReloader, memoryNotifier, type Notifier, type ReloaderMode } from '@apphook/core';
import { type DbConfig, openDatabase } from '@apphook/example-pages-site/db';
import type { Page } from '@apphook/example-pages-site/pages';
import { expressBinding } from '@apphook/express';
import express from 'express';
import { serveChild } from '../lib/child.js';
import { countingStore } from '../lib/counting-store.js';
import { naiveMiddleware } from './naive-middleware.js';

export type Variant = 'bare' | 'push' | 'interval' | 'request' | 'naive';

export interface HotPathServerConfig {
  variant: Variant;
  db: DbConfig;
  scope: string;
  /** Push through Redis when the store cannot push itself (SQLite; Postgres before LISTEN). */
  redisUrl?: string;
  redisChannel?: string;
  /** `push` only: carry hints through an in-process notifier instead of Redis (an experiment: apphook without Redis). */
  pushVia?: 'redis' | 'memory';
  /** `bare` only: open the Redis client and a notifier subscription as `push` does, with no reloader (an experiment). */
  openRedis?: boolean;
}

export interface HotPathServerInfo {
  port: number;
  routes: number;
  /** What carries pushes in `push` mode: the store's own channel or Redis. */
  channel: string | undefined;
}

function render(page: Page): string {
  return `<!doctype html><title>${page.title}</title><h1>${page.title}</h1>${page.body}`;
}

await serveChild<HotPathServerConfig, HotPathServerInfo>(async (config) => {
  const db = await openDatabase(config.db);
  const store = countingStore(db.store);
  let routes = 0;
  const build = async (): Promise<express.Router> => {
    const pages = await db.orm.em.fork().find(db.Page, {}, { orderBy: { id: 'asc' } });
    const router = express.Router();
    for (const page of pages) {
      const html = render(page);
      router.get(page.path, (_req, res) => {
        res.type('html').send(html);
      });
    }
    routes = pages.length;
    return router;
  };

  const app = express();
  app.disable('x-powered-by');
  let queries = () => 0;
  let channel: string | undefined;
  let stopReloader = async () => {};
  let quitRedis = async () => {};

  const openRedis = async (): Promise<Notifier> => {
    if (!config.redisUrl) throw new Error(`${db.store.name} has no push channel and no Redis URL was given`);
    const { Redis } = await import('ioredis');
    const { redisNotifier } = await import('@apphook/redis');
    const client = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
    quitRedis = async () => {
      await client.quit().catch(() => {});
    };
    channel = 'Redis';
    return redisNotifier({ client, ...(config.redisChannel ? { channel: config.redisChannel } : {}) });
  };

  if (config.variant === 'bare') {
    app.use(await build());
    if (config.openRedis) {
      const notifier = await openRedis();
      const subscription = await notifier.subscribe(config.scope, { hint() {}, resync() {}, down() {} });
      const quit = quitRedis;
      quitRedis = async () => {
        await subscription.close();
        await quit();
      };
    }
  } else if (config.variant === 'naive') {
    const naive = naiveMiddleware({
      orm: db.orm,
      tokenTable: config.db.tokenTable ?? 'apphook_token',
      scope: config.scope,
      build,
    });
    app.use(naive.middleware);
    queries = naive.queries;
  } else {
    const mode: ReloaderMode = config.variant;
    let notifier: Notifier | undefined;
    if (mode === 'push' && !store.subscribe && config.pushVia === 'memory') {
      notifier = memoryNotifier();
      channel = 'in-process notifier';
    } else if (mode === 'push' && !store.subscribe) {
      notifier = await openRedis();
    } else if (mode === 'push') {
      channel = `${db.store.name} LISTEN`;
    }
    const binding = expressBinding({ rebuildRoutes: () => build() });
    const reloader = createReloader({
      store,
      binding,
      scope: config.scope,
      mode,
      logger: false,
      ...(notifier ? { notifier } : {}),
    });
    app.use(binding.middleware);
    await reloader.start();
    stopReloader = () => reloader.stop();
    queries = () => store.reads;
  }
  // Garbage collections in this process, for comparing variants by counts the machine's load does not move:
  // how many, how long, how many were mark-compacts, and by kind/flags (perf_hooks constants).
  const gcs = { count: 0, ms: 0, major: 0, majorMs: 0, kinds: {} as Record<string, number> };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { kind, flags } = (entry as unknown as { detail: { kind: number; flags: number } }).detail;
      gcs.count++;
      gcs.ms += entry.duration;
      gcs.kinds[`${kind}/${flags}`] = (gcs.kinds[`${kind}/${flags}`] ?? 0) + 1;
      // NODE_PERFORMANCE_GC_MAJOR (4) and _INCREMENTAL (8): a mark-compact, not a scavenge.
      if (kind & 12) {
        gcs.major++;
        gcs.majorMs += entry.duration;
      }
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  app.use((_req, res) => {
    res.status(404).type('text').send('not found');
  });

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  if (routes === 0) await build(); // the naive variant builds lazily; count the routes for the report
  return {
    info: { port: (server.address() as AddressInfo).port, routes, channel },
    methods: {
      queries: () => queries(),
      gc: () => ({ ...gcs, kinds: { ...gcs.kinds } }),
      resources: () => process.getActiveResourcesInfo(),
      heap: () => process.memoryUsage(),
      spaces: async () => (await import('node:v8')).getHeapSpaceStatistics(),
      /** This process's CPU time so far (user + system), in microseconds. */
      cpu: () => {
        const usage = process.cpuUsage();
        return usage.user + usage.system;
      },
    },
    async close() {
      gcObserver.disconnect();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopReloader();
      await quitRedis();
      await db.close();
    },
  };
});
