/**
 * NOTIFY coalescing (src/notify-coalescing.ts, N1..N6) against a real PostgreSQL: a burst of commits is
 * announced by a few NOTIFYs, the last naming the last version; an isolated commit notifies inside its
 * transaction; rollback sends nothing; close() sends what is held; a failing trailing NOTIFY is logged.
 * Also run on MikroORM 6 (packages/mikro-orm6-suite/test/notify-coalescing-postgresql.test.ts): names carry
 * the major version so the two runs never share a table or a channel.
 */
import { ApphookOptionError, type Logger } from '@apphook/core';
import { watchEntities } from '@apphook/mikro-orm';
import { type PostgresStore, type PostgresStoreOptions, postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import { recreateTables } from '@apphook/test-suite/store';
import { type EntityManager, EntitySchema, MikroORM, Utils } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('postgres');
const major = Utils.getORMVersion().split('.')[0];
const CHANNEL = `pgnotify_coalesce_${major}`;
const TABLE = `pgnotify_coalesce_${major}_token`;

interface Doc {
  id: number;
  title: string;
}
const Doc = new EntitySchema<Doc>({
  name: 'CoalesceDoc',
  tableName: `pgnotify_coalesce_${major}_doc`,
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    title: { type: 'string' },
  },
});

interface Heard {
  scope: string;
  version: number;
  at: number;
  processId: number;
}

describe.skipIf(!available)('NOTIFY coalescing (minNotifyIntervalMs)', () => {
  let orm: MikroORM;
  let listener: pg.Client;
  const heard: Heard[] = [];
  const stores: PostgresStore[] = [];
  let counter = 0;
  const scope = (label: string) => `coalesce:${Date.now().toString(36)}:${label}:${++counter}`;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const tx = <T>(fn: (em: EntityManager) => Promise<T>) => orm.em.fork().transactional(fn);
  const heardFor = (s: string) => heard.filter((h) => h.scope === s);
  const versionsFor = (s: string) => heardFor(s).map((h) => h.version);
  function storeWith(options: PostgresStoreOptions): PostgresStore {
    const store = postgresStore(orm, { tableName: TABLE, channel: CHANNEL, logger: false, ...options });
    stores.push(store);
    return store;
  }

  beforeAll(async () => {
    orm = await MikroORM.init({ entities: [Doc], clientUrl: services.postgres, pool: { max: 6 } });
    await storeWith({}).ensureSchema();
    await recreateTables(orm, [Doc as EntitySchema]);
    listener = new pg.Client({ connectionString: services.postgres });
    await listener.connect();
    listener.on('notification', (m) => {
      if (m.channel !== CHANNEL || !m.payload) return;
      const { scope, version } = JSON.parse(m.payload) as { scope: string; version: number };
      heard.push({ scope, version, at: Date.now(), processId: m.processId });
    });
    await listener.query(`LISTEN ${CHANNEL}`);
  });

  afterAll(async () => {
    await listener?.end();
    for (const store of stores) await store.close();
    await orm?.close(true);
  });

  /** K commits of one scope, one after another, as fast as they go; the last one's version is K. */
  async function burst(store: PostgresStore, s: string, k: number, how: 'transaction' | 'alone') {
    const startedAt = Date.now();
    for (let i = 0; i < k; i++) {
      if (how === 'transaction') await tx((em) => store.bump(em, s));
      else await store.bump(orm.em.fork(), s);
    }
    return { startedAt, endedAt: Date.now() };
  }

  for (const how of ['transaction', 'alone'] as const) {
    it(`announces a burst of commits (${how === 'transaction' ? 'in transactions' : 'in no transaction'}) with at most one NOTIFY per window, the last naming the last version`, async () => {
      // Windows much longer than a commit, so that the bound below means coalescing also on a loaded machine.
      const windowMs = 200;
      const k = 40;
      const store = storeWith({ minNotifyIntervalMs: windowMs });
      const s = scope(`burst-${how}`);
      const { startedAt, endedAt } = await burst(store, s, k, how);
      await expect.poll(() => versionsFor(s).at(-1), { timeout: 5000 }).toBe(k);
      // Anything still held would come within a window: wait three, then count.
      await sleep(3 * windowMs);
      const versions = versionsFor(s);
      // One NOTIFY per window, leading or trailing; the trailing one of the last window comes after it.
      expect(versions.length).toBeLessThanOrEqual(Math.ceil((endedAt - startedAt) / windowMs) + 1);
      // Sent after the commits they announce, so each names a newer version than the last; the last names K
      // and is the only one that does.
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
      expect(versions.at(-1)).toBe(k);
      // The last commit was announced within the window (generous slack for a loaded machine).
      const last = heardFor(s).at(-1) as Heard;
      expect(last.at - endedAt).toBeLessThan(windowMs + 2000);
      const stats = store.notifyStats();
      expect(stats.inTransaction + stats.trailing).toBe(versions.length);
      expect(stats.trailing).toBeGreaterThan(0);
      expect(stats.coalesced).toBeGreaterThan(0);
      expect(stats.failed).toBe(0);
    });
  }

  it('sends one NOTIFY per commit under the same burst with minNotifyIntervalMs 0 (negative control)', async () => {
    const k = 40;
    const store = storeWith({ minNotifyIntervalMs: 0 });
    const s = scope('uncoalesced');
    await burst(store, s, k, 'transaction');
    await expect.poll(() => versionsFor(s).length, { timeout: 5000 }).toBe(k);
    expect(versionsFor(s)).toEqual(Array.from({ length: k }, (_, i) => i + 1));
    expect(store.notifyStats()).toMatchObject({ inTransaction: k, trailing: 0 });
  });

  it('notifies an isolated commit inside its transaction: from its backend, with the commit, never held', async () => {
    // A window far longer than the test, and the transaction on a second ORM whose connections the store's
    // trailing path never uses: a NOTIFY from that transaction's backend was sent inside it.
    const store = storeWith({ minNotifyIntervalMs: 600_000 });
    const other = await MikroORM.init({ entities: [Doc], clientUrl: services.postgres, pool: { max: 2 } });
    try {
      postgresStore(other, { tableName: TABLE, channel: CHANNEL, logger: false }); // registers its subscriber
      const s = scope('isolated');
      let backend = 0;
      await other.em.fork().transactional(async (em) => {
        await store.bump(em, s);
        const rows = (await em.execute('select pg_backend_pid() as pid')) as Array<{ pid: number }>;
        backend = Number(rows[0]?.pid);
        await sleep(100);
        expect(heardFor(s)).toEqual([]);
      });
      await expect.poll(() => heardFor(s).length, { timeout: 5000 }).toBe(1);
      expect(heardFor(s)[0]).toMatchObject({ version: 1, processId: backend });
      expect(store.notifyStats()).toMatchObject({ inTransaction: 1, trailing: 0 });
    } finally {
      await other.close(true);
    }
  });

  it('sends nothing for a transaction that rolls back inside the window, nor after it', async () => {
    const windowMs = 500;
    const store = storeWith({ minNotifyIntervalMs: windowMs });
    const s = scope('rollback');
    await tx((em) => store.bump(em, s));
    await tx(async (em) => {
      await store.bump(em, s);
      throw new Error('rollback');
    }).catch(() => {});
    await tx(async (em) => {
      await em.transactional((inner) => store.bump(inner, s));
      await em.transactional(async (inner) => {
        await store.bump(inner, s);
        throw new Error('savepoint rollback');
      });
    }).catch(() => {});
    await sleep(3 * windowMs);
    expect(versionsFor(s)).toEqual([1]);
    expect(store.notifyStats()).toMatchObject({ inTransaction: 1, trailing: 0 });
    // The path is live: a commit inside a fresh window is announced by a trailing NOTIFY.
    await tx((em) => store.bump(em, s));
    await tx((em) => store.bump(em, s));
    await expect.poll(() => versionsFor(s), { timeout: 5000 }).toEqual([1, 2, 3]);
    expect(store.notifyStats()).toMatchObject({ inTransaction: 2, trailing: 1 });
  });

  it('sends a held NOTIFY at once on close(), then notifies inside transactions again', async () => {
    const store = storeWith({ minNotifyIntervalMs: 600_000 });
    const s = scope('close');
    await tx((em) => store.bump(em, s));
    await expect.poll(() => versionsFor(s), { timeout: 5000 }).toEqual([1]);
    await tx((em) => store.bump(em, s));
    await tx((em) => store.bump(em, s));
    await sleep(200);
    expect(versionsFor(s)).toEqual([1]);
    await store.close();
    await expect.poll(() => versionsFor(s), { timeout: 5000 }).toEqual([1, 3]);
    expect(store.notifyStats()).toMatchObject({ inTransaction: 1, trailing: 1, coalesced: 1 });
    await tx((em) => store.bump(em, s));
    await expect.poll(() => versionsFor(s), { timeout: 5000 }).toEqual([1, 3, 4]);
    expect(store.notifyStats()).toMatchObject({ inTransaction: 2, trailing: 1 });
  });

  it('coalesces the bumps watchEntities makes while each flush commits', async () => {
    const windowMs = 200;
    const store = storeWith({ minNotifyIntervalMs: windowMs });
    const s = scope('watched');
    const unwatch = watchEntities(orm, { entities: [Doc], store, scope: s });
    try {
      const k = 30;
      const startedAt = Date.now();
      for (let i = 0; i < k; i++) {
        const em = orm.em.fork();
        em.create(Doc, { title: `t${i}` });
        await em.flush();
      }
      const endedAt = Date.now();
      await expect.poll(() => versionsFor(s).at(-1), { timeout: 5000 }).toBe(k);
      await sleep(3 * windowMs);
      expect(versionsFor(s).length).toBeLessThanOrEqual(Math.ceil((endedAt - startedAt) / windowMs) + 1);
      expect(store.notifyStats().failed).toBe(0);
      expect(store.notifyStats().trailing).toBeGreaterThan(0);
    } finally {
      unwatch();
    }
  });

  it('logs a failing trailing NOTIFY, naming the safety poll that recovers it', async () => {
    const errors: string[] = [];
    const logger: Logger = { warn() {}, error: (message) => void errors.push(message) };
    const table = `${TABLE}_gone`;
    const store = storeWith({ tableName: table, minNotifyIntervalMs: 1000, logger });
    await store.ensureSchema();
    const s = scope('failing');
    await tx((em) => store.bump(em, s));
    await tx((em) => store.bump(em, s));
    // The trailing NOTIFY reads the token row: without the table it fails.
    await orm.em.getConnection().execute(`drop table ${table}`);
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
    expect(errors[0]).toMatch(/NOTIFY after a burst of commits of scope .* failed; .*safety poll/);
    expect(store.notifyStats()).toMatchObject({ trailing: 1, failed: 1 });
    expect(versionsFor(s)).toEqual([1]);
  });

  it('rejects a minNotifyIntervalMs that is not a non-negative number of milliseconds', () => {
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10', 2 ** 31]) {
      expect(() => postgresStore(orm, { minNotifyIntervalMs: value as number, logger: false })).toThrow(
        ApphookOptionError,
      );
    }
    expect(() => postgresStore(orm, { minNotifyIntervalMs: -1, logger: false })).toThrow(
      /minNotifyIntervalMs must be a non-negative number of milliseconds .*got -1/,
    );
  });
});
