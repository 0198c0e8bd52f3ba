/**
 * One process of the fan-out and tenant sections: many reloaders sharing one store (one Postgres pool and, with
 * NOTIFY, one LISTEN connection) and at most one Redis notifier (one subscriber connection), each reloader with a
 * callback binding whose build is a constant (what is measured is how a commit reaches every reloader, not a
 * router build). Arrival times are taken on the wall clock (`timeOrigin + now()`), which every process shares.
 */
import { callbackBinding, createReloader, type Notifier, type Reloader } from '@apphook/core';
import { type DbConfig, openDatabase } from '@apphook/example-pages-site/db';
import { serveChild } from '../lib/child.js';

export interface FanOutChildConfig {
  db: DbConfig;
  /** One scope per reloader (the fan-out gives every reloader the same scope). */
  scopes: string[];
  redis?: { url: string; channel: string };
}

export interface FanOutChildInfo {
  reloaders: number;
  /** From the first `start()` until every reloader had built, ms. */
  startMs: number;
  /** Heap held by the reloaders (after a full GC, less the heap before the first was created), MB. */
  heapMb: number;
  rssMb: number;
}

const wallNow = () => performance.timeOrigin + performance.now();

await serveChild<FanOutChildConfig, FanOutChildInfo>(async (config) => {
  const db = await openDatabase(config.db);
  let notifier: Notifier | undefined;
  let quit = async () => {};
  if (config.redis) {
    const { Redis } = await import('ioredis');
    const { redisNotifier } = await import('@apphook/redis');
    const client = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
    quit = async () => {
      await client.quit().catch(() => {});
    };
    notifier = redisNotifier({ client, channel: config.redis.channel });
  }
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  /** Per reloader: when it swapped in each version, wall clock. */
  const arrivals: Array<Map<number, number>> = [];
  const reloaders: Array<Reloader<true, unknown>> = config.scopes.map((scope, i) => {
    const seen = new Map<number, number>();
    arrivals[i] = seen;
    const reloader = createReloader<true, unknown>({
      store: db.store as never,
      binding: callbackBinding({ rebuildRoutes: () => true as const }),
      scope,
      mode: 'push',
      logger: false,
      ...(notifier ? { notifier } : {}),
    });
    reloader.on('reload', ({ to }) => seen.set(Number(to), wallNow()));
    return reloader;
  });
  const t0 = performance.now();
  await Promise.all(reloaders.map((r) => r.start()));
  const startMs = performance.now() - t0;
  gc();
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;

  /** Resolves with each reloader's first arrival at `version` or later (wall clock), or rejects after `timeoutMs`. */
  async function waitAll(params: { version: number; timeoutMs: number }): Promise<number[]> {
    const deadline = performance.now() + params.timeoutMs;
    const first = (seen: Map<number, number>) => {
      let at = Number.POSITIVE_INFINITY;
      for (const [v, t] of seen) if (v >= params.version && t < at) at = t;
      return at;
    };
    for (;;) {
      const times = arrivals.map(first);
      if (times.every(Number.isFinite)) return times;
      if (performance.now() > deadline) {
        const missing = times.filter((t) => !Number.isFinite(t)).length;
        throw new Error(`${missing} of ${times.length} reloaders never served version ${params.version}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  return {
    info: { reloaders: reloaders.length, startMs, heapMb, rssMb: process.memoryUsage().rss / 1024 / 1024 },
    methods: {
      waitAll,
      /** When reloader `index` first served `version` or later (wall clock), `null` if it has not yet. */
      arrival: (params: { version: number; index: number }): number | null => {
        let at: number | null = null;
        for (const [v, t] of arrivals[params.index] ?? [])
          if (v >= params.version && (at === null || t < at)) at = t;
        return at;
      },
      /** How many builds each reloader swapped in so far (the first build included). */
      builds: () => arrivals.map((seen) => seen.size),
    },
    async close() {
      await Promise.allSettled(reloaders.map((r) => r.stop()));
      await quit();
      await db.close();
    },
  };
});
