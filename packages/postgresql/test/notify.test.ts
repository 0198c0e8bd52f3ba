import { ApphookOptionError } from '@apphook/core';
import { type PostgresStore, postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import { type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('postgres');
/** Waits for something that happens: the limit only catches a hang (a loaded 2-core machine is slow). */
const HANG_MS = 20_000;
const CHANNEL = 'ahs_pg_notify';
const TABLE = 'ahs_pg_notify_token';

describe.skipIf(!available)('pg_notify', () => {
  let orm: MikroORM;
  let store: PostgresStore;
  let listener: pg.Client;
  const received: Array<{ channel: string; payload: string | undefined }> = [];
  let counter = 0;
  const scope = (label: string) => `notify:${Date.now().toString(36)}:${label}:${++counter}`;
  const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const tx = <T>(fn: (em: EntityManager) => Promise<T>) => orm.em.fork().transactional(fn);
  const payloadsFor = (s: string) =>
    received.filter((m) => m.payload?.includes(`"${s}"`)).map((m) => JSON.parse(m.payload ?? '{}'));

  beforeAll(async () => {
    orm = await MikroORM.init({
      entities: [],
      clientUrl: services.postgres,
      discovery: { warnWhenNoEntities: false },
    });
    store = postgresStore(orm, { tableName: TABLE, channel: CHANNEL });
    await store.ensureSchema();
    listener = new pg.Client({ connectionString: services.postgres });
    await listener.connect();
    listener.on('notification', (m) => received.push({ channel: m.channel, payload: m.payload }));
    await listener.query(`LISTEN ${CHANNEL}`);
  });

  afterAll(async () => {
    await listener?.end();
    await store?.close();
    await orm?.close(true);
  });

  it('delivers { scope, version } on the store channel only when the transaction commits', async () => {
    const s = scope('commit');
    await tx(async (em) => {
      await store.bump(em, s);
      await tick(100);
      expect(payloadsFor(s)).toEqual([]);
    });
    await expect.poll(() => payloadsFor(s), { timeout: HANG_MS }).toEqual([{ scope: s, version: 1 }]);
    expect(received.every((m) => m.channel === CHANNEL)).toBe(true);
  });

  it('delivers nothing when the transaction rolls back, also after a released savepoint', async () => {
    const s = scope('rollback');
    await tx(async (em) => {
      await store.bump(em, s);
      throw new Error('rollback');
    }).catch(() => {});
    await tx(async (em) => {
      await em.transactional((inner) => store.bump(inner, s));
      throw new Error('outer rollback');
    }).catch(() => {});
    // A later commit on another scope proves the listener is live and everything before it has arrived.
    const marker = scope('marker');
    await tx((em) => store.bump(em, marker));
    await expect.poll(() => payloadsFor(marker).length, { timeout: HANG_MS }).toBe(1);
    expect(payloadsFor(s)).toEqual([]);
  });

  it('sends nothing with channel: false', async () => {
    const quiet = postgresStore(orm, { tableName: TABLE, channel: false });
    const s = scope('quiet');
    expect(await tx((em) => quiet.bump(em, s))).toBe(1);
    const marker = scope('marker');
    await tx((em) => store.bump(em, marker));
    await expect.poll(() => payloadsFor(marker).length, { timeout: HANG_MS }).toBe(1);
    expect(payloadsFor(s)).toEqual([]);
    expect(quiet.channel).toBeUndefined();
  });

  it('rejects a channel that is not a plain identifier', () => {
    for (const channel of ['a b', 'x"; drop', '', 'x'.repeat(64), 42]) {
      expect(() => postgresStore(orm, { channel: channel as string })).toThrow(ApphookOptionError);
    }
  });

  it('refuses a MikroORM instance of another database, and a missing one', () => {
    const mysqlLike = {
      em: { getConnection() {}, getPlatform: () => new (class MySqlPlatform {})() },
    } as unknown as MikroORM;
    expect(() => postgresStore(mysqlLike)).toThrow(/MySqlPlatform; use the store of that database/);
    expect(() => postgresStore(undefined as unknown as MikroORM)).toThrow(ApphookOptionError);
  });
});
