/**
 * Scenario 5: tenants. 50 scopes share one store (one LISTEN connection) and one Redis notifier (one subscriber
 * connection); a change in one scope rebuilds only that scope's routes.
 */
import { randomBytes } from 'node:crypto';
import { callbackBinding, createReloader, type Reloader } from '@apphook/core';
import { ApphookToken, defineApphookToken, postgresStore } from '@apphook/postgresql';
import { redisNotifier } from '@apphook/redis';
import { requireService, services } from '@apphook/test-suite/services';
import type { EntityManager } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { OwnRedis } from '../harness/servers.js';

const ready = (await requireService('postgres')) && (await requireService('redis'));
const SCOPES = 50;

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe.skipIf(!ready)('tenants (scenario 5)', () => {
  it(`${SCOPES} scopes share one LISTEN connection and one Redis subscriber; a change rebuilds one scope`, async () => {
    void ApphookToken;
    const tag = `e2e_${randomBytes(3).toString('hex')}`;
    const tableName = `${tag}_token`;
    const redis = await OwnRedis.start();
    cleanups.push(() => redis.stop());
    const open = () =>
      MikroORM.init({
        clientUrl: services.postgres,
        entities: [defineApphookToken({ tableName })],
        debug: false,
      });

    // The serving process: 50 reloaders on one store and one notifier.
    const orm = await open();
    cleanups.push(() => orm.close(true));
    const store = postgresStore(orm, { tableName, channel: tag });
    await store.ensureSchema();
    const client = new Redis(redis.url);
    cleanups.push(() => client.quit());
    const notifier = redisNotifier({ client, prefix: `${tag}:` });
    const builds = new Map<string, number>();
    const reloaders: Array<Reloader<unknown, EntityManager>> = [];
    for (let i = 0; i < SCOPES; i++) {
      const scope = `tenant:${i}`;
      const reloader = createReloader({
        store,
        notifier,
        scope,
        safetyIntervalMs: 600_000, // polling effectively off: only pushes can deliver
        logger: false,
        binding: callbackBinding({
          rebuildRoutes: ({ version }) => {
            builds.set(scope, (builds.get(scope) ?? 0) + 1);
            return { scope, version };
          },
        }),
      });
      reloaders.push(reloader);
      cleanups.push(() => reloader.stop());
    }
    await Promise.all(reloaders.map((r) => r.start()));

    // One LISTEN connection for the store, one subscriber connection for the notifier.
    const admin = new pg.Client({ connectionString: services.postgres });
    await admin.connect();
    cleanups.push(() => admin.end());
    const listens = await admin.query(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [`apphook-listen:${tag}`],
    );
    expect(listens.rows[0].n).toBe(1);
    const redisAdmin = new Redis(redis.url);
    cleanups.push(() => redisAdmin.quit());
    const subscribers = String(await redisAdmin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
      .split('\n')
      .filter((line) => line.trim());
    expect(subscribers).toHaveLength(1);

    // Another "process": its own ORM, store and notifier, changing tenant 7 only.
    const writerOrm = await open();
    cleanups.push(() => writerOrm.close(true));
    const writerStore = postgresStore(writerOrm, { tableName, channel: tag });
    const writerClient = new Redis(redis.url);
    cleanups.push(() => writerClient.quit());
    const writer = createReloader({
      store: writerStore,
      notifier: redisNotifier({ client: writerClient, prefix: `${tag}:` }),
      scope: 'tenant:7',
      logger: false,
      binding: callbackBinding({ rebuildRoutes: () => ({}) }),
    });
    const before = new Map(builds);
    await writerOrm.em.fork().transactional((em) => writer.markChanged(em));
    await vi.waitFor(() => expect(reloaders[7]!.version).toBe(1), { timeout: 20_000, interval: 10 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [scope, count] of builds) {
      expect(count - (before.get(scope) ?? 0), scope).toBe(scope === 'tenant:7' ? 1 : 0);
    }
    expect(reloaders.filter((r) => r.version !== 0).map((r) => r.scope)).toEqual(['tenant:7']);
    await admin.query(`drop table if exists "${tableName}"`);
  });
});
