import { randomBytes } from 'node:crypto';
import { callbackBinding, createReloader, type Reloader } from '@apphook/core';
import { defineApphookToken, type PostgresStore, postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import type { EntityManager } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const available = await requireService('postgres');
/** Waits for something that happens: the limit only catches a hang (a loaded 2-core machine is slow). */
const HANG_MS = 20_000;

describe.skipIf(!available)('native push through LISTEN/NOTIFY', () => {
  const tag = `ahs_pg_push_${randomBytes(3).toString('hex')}`;
  const tableName = `${tag}_token`;
  const orms: MikroORM[] = [];
  const reloaders: Array<Reloader<unknown, EntityManager>> = [];
  let admin: InstanceType<typeof pg.Client>;

  const open = async () => {
    const orm = await MikroORM.init({
      clientUrl: services.postgres,
      entities: [defineApphookToken({ tableName })],
    });
    orms.push(orm);
    return orm;
  };
  const reloaderOn = (store: PostgresStore, scope = 'default') => {
    const reloader = createReloader({
      store,
      scope,
      // Polling effectively off: only a push can deliver within the test's time.
      safetyIntervalMs: 600_000,
      intervalMs: 600_000,
      logger: false,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
    });
    reloaders.push(reloader);
    return reloader;
  };

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: services.postgres });
    await admin.connect();
  });
  afterAll(async () => {
    for (const reloader of reloaders) await reloader.stop();
    for (const orm of orms) await orm.close(true);
    await admin.query(`drop table if exists "${tableName}"`);
    await admin.end();
  });

  it("defaults to mode 'push' and reaches a reloader on another ORM instance within milliseconds", async () => {
    const storeA = postgresStore(await open(), { tableName, channel: tag });
    await storeA.ensureSchema();
    const storeB = postgresStore(await open(), { tableName, channel: tag });
    const a = reloaderOn(storeA);
    const b = reloaderOn(storeB);
    expect(b.mode).toBe('push');
    await a.start();
    await b.start();
    const orm = orms[0]!;
    await orm.em.fork().transactional((em) => a.markChanged(em));
    expect(a.version).toBe(1);
    await vi.waitFor(() => expect(b.version).toBe(1), { timeout: HANG_MS, interval: 5 });
    // Rolled back: nothing is delivered.
    await orm.em
      .fork()
      .transactional(async (em) => {
        await a.markChanged(em);
        throw new Error('rollback');
      })
      .catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(b.version).toBe(1);
    expect(b.stats().reads).toBe(2); // the start read and the one hint of the commit
  });

  it('after pg_terminate_backend the LISTEN connection comes back and a commit made meanwhile is not lost (G9)', async () => {
    const storeB = postgresStore(await open(), { tableName, channel: tag, listen: { reconnectBaseMs: 300 } });
    const b = reloaderOn(storeB, 'g9');
    await b.start();
    const writer = postgresStore(await open(), { tableName, channel: tag });
    const w = reloaderOn(writer, 'g9');
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      `apphook-listen:${tag}`,
    ]);
    // Commit while the listener is (very likely) still down: the NOTIFY goes nowhere.
    await orms
      .at(-1)!
      .em.fork()
      .transactional((em) => w.markChanged(em));
    await vi.waitFor(() => expect(b.version).toBe(1), { timeout: HANG_MS, interval: 10 });
    expect(storeB.listenStats()?.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('shares one LISTEN connection among every scope of a store and closes it with the last reloader', async () => {
    const store = postgresStore(await open(), { tableName, channel: `${tag}_shared` });
    const many = Array.from({ length: 10 }, (_, i) => reloaderOn(store, `tenant:${i}`));
    await Promise.all(many.map((r) => r.start()));
    const count = async () =>
      (
        await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
          `apphook-listen:${tag}_shared`,
        ])
      ).rows[0].n as number;
    expect(await count()).toBe(1);
    for (const reloader of many) await reloader.stop();
    await vi.waitFor(async () => expect(await count()).toBe(0), { timeout: HANG_MS, interval: 20 });
  });

  it("with channel: false there is no native push and the default mode is 'interval'", async () => {
    const store = postgresStore(orms[0]!, { tableName, channel: false });
    expect(store.subscribe).toBeUndefined();
    const reloader = createReloader({ store, binding: callbackBinding({ rebuildRoutes: () => ({}) }) });
    expect(reloader.mode).toBe('interval');
  });
});
