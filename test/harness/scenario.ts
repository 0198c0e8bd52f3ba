import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DbConfig, DbKind } from '@apphook/example-pages-site/db';
import { openDatabase } from '@apphook/example-pages-site/db';
import type { SiteFleetConfig } from '@apphook/example-pages-site/fleet';
import { spawnWorker, type WorkerHandle } from '@apphook/example-pages-site/spawn';
import type { WorkerConfig } from '@apphook/example-pages-site/worker-protocol';
import { services } from '@apphook/test-suite/services';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { CommittedHistory } from './checks.js';

export type Channel = 'poll' | 'notify' | 'redis';

export interface ScenarioConfig {
  db: DbKind;
  channel: Channel;
  workers: number;
  /** Override the database URL (a throwaway cluster). */
  url?: string;
  redisUrl?: string;
  framework?: 'express' | 'fastify';
  intervalMs?: number;
  failVersions?: number[];
  /** Frameworks of the workers, round robin. @default ['express', 'fastify'] */
  frameworks?: Array<'express' | 'fastify'>;
  /** Workers announce to the fleet view (a table or Redis keys of this scenario's own). */
  fleet?: SiteFleetConfig;
  /** Reloader options of every worker (`createReloader`'s, over the site's). */
  reloaderOptions?: Record<string, unknown>;
}

/** A database of its own (fresh tables or file), the workers on it, and the history the writer records. */
export class Scenario {
  readonly workers: WorkerHandle[] = [];
  readonly history = new CommittedHistory();
  readonly db: DbConfig;
  private readonly tempDir: string | undefined;
  private nextPage = 0;

  constructor(readonly config: ScenarioConfig) {
    const tag = `e2e_${randomBytes(3).toString('hex')}`;
    this.tempDir = config.db === 'sqlite' ? mkdtempSync(join(tmpdir(), 'apphook-e2e-')) : undefined;
    this.db = {
      kind: config.db,
      ...(this.tempDir
        ? { file: join(this.tempDir, 'site.sqlite') }
        : { url: config.url ?? (config.db === 'postgres' ? services.postgres : services.mysql) }),
      pagesTable: `${tag}_pages`,
      tokenTable: `${tag}_token`,
      channel: tag,
    };
  }

  get tag(): string {
    return this.db.channel!;
  }

  workerConfig(name: string, extra: Partial<WorkerConfig> = {}): WorkerConfig & { name: string } {
    const { channel } = this.config;
    return {
      name,
      db: this.db,
      mode: channel === 'poll' ? 'interval' : 'push',
      intervalMs: this.config.intervalMs ?? (channel === 'poll' ? 100 : 500),
      safetyIntervalMs: 2_000,
      ...(channel === 'redis'
        ? { redisUrl: this.config.redisUrl ?? services.redis, redisChannel: `apphook:${this.tag}` }
        : {}),
      ...(this.config.failVersions ? { failVersions: this.config.failVersions } : {}),
      framework: this.frameworkFor(name),
      ...(this.config.fleet ? { fleet: this.fleetConfig() } : {}),
      ...(this.config.reloaderOptions ? { reloaderOptions: this.config.reloaderOptions } : {}),
      ...extra,
    };
  }

  /** The fleet settings of this scenario, with its own table and Redis prefix. */
  fleetConfig(): SiteFleetConfig {
    return { table: `${this.tag}_fleet`, redisPrefix: `apphook:fleet:${this.tag}:`, ...this.config.fleet };
  }

  /** Workers alternate between the frameworks, so every scenario runs Express and Fastify apps side by side. */
  private frameworkFor(name: string): 'express' | 'fastify' {
    const frameworks = this.config.frameworks ?? ['express', 'fastify'];
    const index = Number(/\d+$/.exec(name)?.[0] ?? 0);
    return frameworks[index % frameworks.length] ?? 'express';
  }

  /** Seeds three pages and records them as the committed state of version 0. */
  async seed(): Promise<void> {
    const database = await openDatabase(this.db);
    try {
      const em = database.orm.em.fork();
      for (const path of ['/', '/about', '/blog'])
        em.create(database.Page, { path, title: path, body: path });
      await em.flush();
      const pages = await em.find(database.Page, {});
      const { routeSetHash } = await import('@apphook/example-pages-site/pages');
      this.history.record(0, routeSetHash(pages), pages.map((p) => p.path).sort());
    } finally {
      await database.close();
    }
  }

  async startWorkers(count = this.config.workers): Promise<WorkerHandle[]> {
    // A worker is a tsx process loading a framework and an ORM: on a 2-core machine running test files side by
    // side (a docs build, package installs) that takes far longer than alone. The timeout only catches a worker
    // that never starts.
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        spawnWorker(this.workerConfig(`worker ${this.workers.length + i + 1}`), { startTimeoutMs: 90_000 }),
      ),
    );
    this.workers.push(...started);
    return started;
  }

  /** A fresh page path for the next "add". */
  newPath(): string {
    return `/p${++this.nextPage}`;
  }

  /** Paths the load generator requests: the seed, and everything added so far (some now 404 on purpose). */
  paths(): string[] {
    const added = Array.from({ length: this.nextPage }, (_, i) => `/p${i + 1}`);
    return ['/', '/about', '/__status', ...added.slice(-20)];
  }

  async waitAll(version: number, timeoutMs = 15_000, workers = this.workers): Promise<void> {
    await Promise.all(workers.map((w) => w.waitForVersion(version, timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.stop()));
    if (this.tempDir) {
      rmSync(this.tempDir, { recursive: true, force: true });
      return;
    }
    await this.dropTables().catch(() => {});
  }

  private async dropTables(): Promise<void> {
    const database = await openDatabase(this.db);
    try {
      const em = database.orm.em.fork() as SqlEntityManager;
      const q = (name: string) => em.getPlatform().quoteIdentifier(name);
      await em.execute(`drop table if exists ${q(this.db.pagesTable!)}`);
      await em.execute(`drop table if exists ${q(this.db.tokenTable!)}`);
      await em.execute(`drop table if exists ${q(`${this.tag}_fleet`)}`);
    } finally {
      await database.close();
    }
  }
}
