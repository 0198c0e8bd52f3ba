import { createReloader, type Notifier, type Reloader, type ReloaderMode } from '@apphook/core';
import type { EntityManager } from '@mikro-orm/core';
import type { Redis } from 'ioredis';
import { adminPage } from './admin-page.js';
import { apphooks } from './blog-app.js';
import { type Database, type DbConfig, openDatabase, readSnapshot } from './db.js';
import { announceSite, type SiteFleetConfig } from './fleet.js';
import type { SiteApi } from './frontend.js';
import { expressFrontend } from './frontend-express.js';
import { fastifyFrontend } from './frontend-fastify.js';
import { ensureAppsTable, readPageApps } from './page-apps.js';
import { routeSetHash } from './pages.js';
import { applyChange, type PageChange, type WriteResult } from './writer.js';

export interface SiteOptions {
  db: DbConfig;
  /** Name shown in responses (`X-Worker`) and status. @default `pid <pid>` */
  name?: string;
  /** @default 'express' */
  framework?: 'express' | 'fastify';
  /** @default 'push' when a channel exists, else 'interval' */
  mode?: ReloaderMode;
  intervalMs?: number;
  safetyIntervalMs?: number;
  scope?: string;
  /** Adds the Redis notifier. */
  redisUrl?: string;
  /** Redis channel, so parallel runs never hear each other. */
  redisChannel?: string;
  /** @default 0 (ephemeral) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Fault injection: `rebuildRoutes` throws for these versions. */
  failVersions?: readonly number[];
  /** Called after every swap with what now serves. */
  onBuild?(build: BuildInfo): void;
  /** Rows for the admin page's status view (the demo fills it with every worker's state). */
  statusTable?(): unknown;
  logger?: false;
  /** Serve the blog apphook: page attachments, `/sitemap.xml`, `/__links` (the demo turns it on). */
  apphooks?: boolean;
  /**
   * More `createReloader` options, passed through as given (the benchmarks try options by name, for example
   * `APPHOOK_BENCH_RELOADER_OPTIONS='{"minRebuildIntervalMs":50}'`, before every checkout knows them).
   */
  reloaderOptions?: Record<string, unknown>;
  /** Announce this worker to the fleet view (G13). */
  fleet?: SiteFleetConfig;
}

/** What one build served: its label, the version its snapshot belonged to, and a hash of its routes. */
export interface BuildInfo {
  version: number;
  dataVersion: number;
  hash: string;
  routes: number;
  /** The paths this build routes, sorted. */
  paths: string[];
  durationMs: number;
  at: number;
}

export interface Site {
  url: string;
  port: number;
  name: string;
  db: Database;
  reloader: Reloader<unknown, EntityManager>;
  current(): BuildInfo | undefined;
  change(change: PageChange): Promise<WriteResult>;
  close(): Promise<void>;
}

/**
 * A small site (Express or Fastify) whose pages are routes from the `pages` table, kept current by apphook. Static routes
 * (`/__status`, `/__admin/...`, `/admin`) sit outside the rebuilt router and are never touched by a swap.
 */
export async function startSite(options: SiteOptions): Promise<Site> {
  const name = options.name ?? `pid ${process.pid}`;
  const scope = options.scope ?? 'default';
  const db = await openDatabase(options.db);
  if (options.apphooks) await ensureAppsTable(db);
  const fail = new Set(options.failVersions ?? []);
  let redis: Redis | undefined;
  let notifier: Notifier | undefined;
  if (options.redisUrl) {
    const { Redis } = await import('ioredis');
    const { redisNotifier } = await import('@apphook/redis');
    const client = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
    // ioredis prints connection errors without a listener; the notifier reports what matters to the reloader.
    client.on('error', () => {});
    redis = client;
    notifier = redisNotifier({ client, ...(options.redisChannel ? { channel: options.redisChannel } : {}) });
  }

  let latest: BuildInfo | undefined;
  // Builds by version, so a 'reload' event can report what was swapped in, whatever the framework.
  const infos = new Map<number, BuildInfo>();

  const api: SiteApi = {
    name,
    async snapshot(version) {
      if (fail.has(version)) throw new Error(`fault injection: rebuildRoutes fails for version ${version}`);
      const started = performance.now();
      const { dataVersion, pages, extra } = await readSnapshot(
        db,
        scope,
        options.apphooks ? (tx) => readPageApps(db, tx) : undefined,
      );
      const info: BuildInfo = {
        version,
        dataVersion,
        hash: routeSetHash(pages),
        routes: pages.length,
        paths: pages.map((p) => p.path).sort(),
        durationMs: performance.now() - started,
        at: Date.now(),
      };
      infos.set(version, info);
      return { pages, info, ...(extra ? { apphooks: apphooks.build(extra, { version, scope }) } : {}) };
    },
    status: () => ({ name, pid: process.pid, build: latest, stats: reloader.stats() }),
    pages: () => db.orm.em.fork().find(db.Page, {}, { orderBy: { path: 'asc' } }),
    workers: () => options.statusTable?.() ?? [{ name, pid: process.pid, build: latest }],
    change: (change) => applyChange(db, reloader, change),
    adminHtml: adminPage,
  };
  const frontend = options.framework === 'fastify' ? fastifyFrontend(api) : expressFrontend(api);

  const reloader: Reloader<unknown, EntityManager> = createReloader({
    store: db.store,
    binding: frontend.binding,
    scope,
    ...(notifier ? { notifier } : {}),
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
    ...(options.safetyIntervalMs ? { safetyIntervalMs: options.safetyIntervalMs } : {}),
    retryBaseMs: 100,
    retryMaxMs: 1000,
    ...(options.logger === false ? { logger: false as const } : {}),
    ...options.reloaderOptions,
  });
  reloader.on('reload', ({ to }) => {
    const info = infos.get(to);
    for (const version of infos.keys()) if (version <= to) infos.delete(version);
    if (info) {
      latest = info;
      options.onBuild?.(info);
    }
  });

  await reloader.start();
  const announcer = options.fleet
    ? await announceSite(reloader as Reloader<unknown, never>, name, db.orm, redis, options.fleet)
    : undefined;
  const host = options.host ?? '127.0.0.1';
  const server = await frontend.listen(options.port ?? 0, host);
  const port = server.port;

  return {
    url: `http://${host}:${port}`,
    port,
    name,
    db,
    reloader,
    current: () => latest,
    change: (change) => applyChange(db, reloader, change),
    async close() {
      await announcer?.stop(); // departure first: the fleet view drops this worker at once
      await server.close();
      await reloader.stop();
      await redis?.quit().catch(() => {});
      // Bounded: a transaction cut off by a database restart strands its pooled connection (kysely issue 1990),
      // and the ORM's close would wait for it forever.
      await Promise.race([db.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}
