import type { AddressInfo } from 'node:net';
import { createReloader, type Notifier, type Reloader, type ReloaderMode } from '@apphook/core';
import { expressBinding } from '@apphook/express';
import type { EntityManager } from '@mikro-orm/core';
import express from 'express';
import { adminPage } from './admin-page.js';
import { type Database, type DbConfig, openDatabase, readSnapshot } from './db.js';
import { type Page, routeSetHash } from './pages.js';
import { applyChange, type PageChange, type WriteResult } from './writer.js';

export interface SiteOptions {
  db: DbConfig;
  /** Name shown in responses (`X-Worker`) and status. @default `pid <pid>` */
  name?: string;
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

interface Routes {
  router: express.Router;
  info: BuildInfo;
}

export interface Site {
  url: string;
  port: number;
  name: string;
  db: Database;
  reloader: Reloader<Routes, EntityManager>;
  current(): BuildInfo | undefined;
  change(change: PageChange): Promise<WriteResult>;
  close(): Promise<void>;
}

/**
 * A small Express site whose pages are routes from the `pages` table, kept current by apphook. Static routes
 * (`/__status`, `/__admin/...`, `/admin`) sit outside the rebuilt router and are never touched by a swap.
 */
export async function startSite(options: SiteOptions): Promise<Site> {
  const name = options.name ?? `pid ${process.pid}`;
  const scope = options.scope ?? 'default';
  const db = await openDatabase(options.db);
  const fail = new Set(options.failVersions ?? []);
  let redis: { quit(): Promise<unknown> } | undefined;
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

  const binding = expressBinding<express.Router>({
    rebuildRoutes: async ({ version }) => (await build(version)).router,
  });
  let latest: BuildInfo | undefined;
  const builds = new WeakMap<express.Router, BuildInfo>();

  async function build(version: number): Promise<Routes> {
    if (fail.has(version)) throw new Error(`fault injection: rebuildRoutes fails for version ${version}`);
    const started = performance.now();
    const { dataVersion, pages } = await readSnapshot(db, scope);
    const router = express.Router();
    const info: BuildInfo = {
      version,
      dataVersion,
      hash: routeSetHash(pages),
      routes: pages.length,
      paths: pages.map((p) => p.path).sort(),
      durationMs: 0,
      at: Date.now(),
    };
    for (const page of pages) router.get(page.path, (_req, res) => renderPage(res, page, info, name));
    info.durationMs = performance.now() - started;
    builds.set(router, info);
    return { router, info };
  }

  const reloader = createReloader({
    store: db.store,
    binding,
    scope,
    ...(notifier ? { notifier } : {}),
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
    ...(options.safetyIntervalMs ? { safetyIntervalMs: options.safetyIntervalMs } : {}),
    retryBaseMs: 100,
    retryMaxMs: 1000,
    ...(options.logger === false ? { logger: false as const } : {}),
  }) as unknown as Reloader<Routes, EntityManager>;
  reloader.on('reload', () => {
    const router = binding.current;
    const info = router ? builds.get(router) : undefined;
    if (info) {
      latest = info;
      options.onBuild?.(info);
    }
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json());
  app.use((_req, res, next) => {
    res.setHeader('X-Worker', name);
    next();
  });
  app.get('/__status', (_req, res) => {
    res.json({ name, pid: process.pid, build: latest, stats: reloader.stats() });
  });
  app.get('/__pages', async (_req, res) => {
    const pages = await db.orm.em.fork().find(db.Page, {}, { orderBy: { path: 'asc' } });
    res.json(pages);
  });
  app.get('/__workers', (_req, res) => {
    res.json(options.statusTable?.() ?? [{ name, pid: process.pid, build: latest }]);
  });
  app.post('/__admin/change', async (req, res) => {
    try {
      res.json(
        await applyChange(
          db,
          reloader as unknown as Reloader<unknown, EntityManager>,
          req.body as PageChange,
        ),
      );
    } catch (error) {
      res.status(400).json({ error: error instanceof Error ? error.message : String(error) });
    }
  });
  app.get('/admin', (_req, res) => {
    res.type('html').send(adminPage());
  });
  app.use(binding.middleware);
  app.use((_req, res) => {
    res.status(404).type('text').send('not found');
  });

  await reloader.start();
  const server = app.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  server.keepAliveTimeout = 5_000;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    name,
    db,
    reloader,
    current: () => latest,
    change: (change) => applyChange(db, reloader as unknown as Reloader<unknown, EntityManager>, change),
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await reloader.stop();
      await redis?.quit().catch(() => {});
      // Bounded: a transaction cut off by a database restart strands its pooled connection (kysely issue 1990),
      // and the ORM's close would wait for it forever.
      await Promise.race([db.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}

function renderPage(res: express.Response, page: Page, info: BuildInfo, worker: string): void {
  res.setHeader('X-Apphook-Version', String(info.version));
  res.setHeader('X-Route-Hash', info.hash);
  res
    .type('html')
    .send(
      `<!doctype html><title>${escapeHtml(page.title)}</title><h1>${escapeHtml(page.title)}</h1>${page.body}<footer>${escapeHtml(worker)} · version ${info.version}</footer>`,
    );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
