/**
 * The writer of the propagation and storm runs, in the bench process itself so a commit's time is taken on the
 * same clock as the workers' build reports: an after-commit hook, registered before `markChanged`'s own, stamps
 * the moment the commit returned.
 */
import { callbackBinding, createReloader, type Notifier, type Reloader } from '@apphook/core';
import { type Database, type DbConfig, openDatabase } from '@apphook/example-pages-site/db';
import type { EntityManager } from '@mikro-orm/core';

export interface Commit {
  version: number;
  /** `performance.now()` when the commit returned. */
  committedAt: number;
}

export class Writer {
  private constructor(
    private readonly db: Database,
    private readonly reloader: Reloader<true, EntityManager>,
    private readonly quit: () => Promise<void>,
  ) {}

  static async open(
    config: DbConfig,
    scope: string,
    options: { redis?: { url: string; channel: string }; minPublishIntervalMs?: number } = {},
  ): Promise<Writer> {
    const { redis } = options;
    const db = await openDatabase(config);
    let notifier: Notifier | undefined;
    let quit = async () => {};
    if (redis) {
      const { Redis } = await import('ioredis');
      const { redisNotifier } = await import('@apphook/redis');
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      quit = async () => {
        await client.quit().catch(() => {});
      };
      notifier = redisNotifier({ client, channel: redis.channel });
    }
    // Never polls (it only writes); publishes through the notifier after each commit.
    const reloader = createReloader<true, EntityManager>({
      store: db.store,
      binding: callbackBinding({ rebuildRoutes: () => true as const }),
      scope,
      mode: 'interval',
      intervalMs: 3_600_000,
      logger: false,
      ...(notifier ? { notifier } : {}),
      ...(options.minPublishIntervalMs !== undefined
        ? { minPublishIntervalMs: options.minPublishIntervalMs }
        : {}),
    });
    await reloader.start();
    return new Writer(db, reloader, quit);
  }

  /** Renames one page and bumps the version in the same transaction (G1, G2). */
  async rename(path: string, title: string): Promise<Commit> {
    let committedAt = Number.NaN;
    const version = await this.db.orm.em.fork().transactional(async (em) => {
      await em.nativeUpdate(this.db.Page, { path }, { title });
      this.db.store.afterCommit!(em, () => {
        committedAt = performance.now();
      });
      return this.reloader.markChanged(em);
    });
    return { version, committedAt };
  }

  async close(): Promise<void> {
    await this.reloader.stop();
    await this.quit();
    await this.db.close();
  }
}
