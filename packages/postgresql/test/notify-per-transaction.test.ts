import { watchEntities } from '@apphook/mikro-orm';
import { type PostgresStore, postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import { recreateTables } from '@apphook/test-suite/store';
import { type EntityManager, EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('postgres');
const CHANNEL = 'ahs_pg_notify_once';
const TABLE = 'ahs_pg_notify_once_token';

interface Doc {
  id: number;
  title: string;
}
const Doc = new EntitySchema<Doc>({
  name: 'NotifyOnceDoc',
  tableName: 'ahs_pg_notify_once_doc',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    title: { type: 'string' },
  },
});

describe.skipIf(!available)('one NOTIFY per root transaction and scope (G2)', () => {
  let orm: MikroORM;
  let store: PostgresStore;
  let listener: pg.Client;
  const received: string[] = [];
  let counter = 0;
  const scope = (label: string) => `once:${Date.now().toString(36)}:${label}:${++counter}`;
  const tx = <T>(fn: (em: EntityManager) => Promise<T>) => orm.em.fork().transactional(fn);
  const payloadsFor = (s: string) =>
    received.filter((p) => p.includes(`"${s}"`)).map((p) => JSON.parse(p) as unknown);
  /** Commits a marker bump and waits for its NOTIFY: everything committed before it has arrived. */
  async function settled(): Promise<void> {
    const marker = scope('marker');
    await store.bump(orm.em.fork(), marker);
    await expect.poll(() => payloadsFor(marker).length, { timeout: 5000 }).toBe(1);
  }

  beforeAll(async () => {
    orm = await MikroORM.init({ entities: [Doc], clientUrl: services.postgres });
    // Coalescing off: this file pins the per-transaction rule (G2); test/notify-coalescing.test.ts checks how
    // a burst of commits is announced when it is on.
    store = postgresStore(orm, { tableName: TABLE, channel: CHANNEL, minNotifyIntervalMs: 0 });
    await store.ensureSchema();
    await recreateTables(orm, [Doc as EntitySchema]);
    listener = new pg.Client({ connectionString: services.postgres });
    await listener.connect();
    listener.on('notification', (m) => {
      if (m.channel === CHANNEL && m.payload) received.push(m.payload);
    });
    await listener.query(`LISTEN ${CHANNEL}`);
  });

  afterAll(async () => {
    await listener?.end();
    await store?.close();
    await orm?.close(true);
  });

  it('sends one notification, with the last version, for three bumps of one scope in one transaction', async () => {
    const s = scope('three');
    const versions = await tx(async (em) => [
      await store.bump(em, s),
      await store.bump(em, s),
      await store.bump(em, s),
    ]);
    expect(versions).toEqual([1, 2, 3]);
    await settled();
    expect(payloadsFor(s)).toEqual([{ scope: s, version: 3 }]);
  });

  it('sends one per scope when one transaction bumps two scopes', async () => {
    const a = scope('a');
    const b = scope('b');
    await tx(async (em) => {
      await store.bump(em, a);
      await store.bump(em, b);
      await store.bump(em, a);
    });
    await settled();
    expect(payloadsFor(a)).toEqual([{ scope: a, version: 2 }]);
    expect(payloadsFor(b)).toEqual([{ scope: b, version: 1 }]);
  });

  it('counts bumps from released savepoints and drops those of rolled-back ones', async () => {
    const s = scope('savepoints');
    await tx(async (em) => {
      await store.bump(em, s);
      await em.transactional(async (inner) => {
        await store.bump(inner, s);
        await inner.transactional((innermost) => store.bump(innermost, s));
      });
      await em
        .transactional(async (inner) => {
          await store.bump(inner, s);
          throw new Error('savepoint rollback');
        })
        .catch(() => {});
    });
    await settled();
    expect(payloadsFor(s)).toEqual([{ scope: s, version: 3 }]);
    expect(await store.read(s)).toBe(3);
  });

  it('sends nothing when every bump was in a rolled-back savepoint, nor when the root rolls back', async () => {
    const s = scope('dropped');
    await tx(async (em) => {
      await em
        .transactional(async (inner) => {
          await store.bump(inner, s);
          await store.bump(inner, s);
          throw new Error('savepoint rollback');
        })
        .catch(() => {});
    });
    await tx(async (em) => {
      await store.bump(em, s);
      await em.transactional((inner) => store.bump(inner, s));
      throw new Error('root rollback');
    }).catch(() => {});
    await settled();
    expect(payloadsFor(s)).toEqual([]);
  });

  it('sends one through em.begin() and em.commit(), and one per bump in no transaction', async () => {
    const s = scope('begin');
    const em = orm.em.fork();
    await em.begin();
    await store.bump(em, s);
    await store.bump(em, s);
    await em.commit();
    await store.bump(orm.em.fork(), s);
    await store.bump(orm.em.fork(), s);
    await settled();
    expect(payloadsFor(s)).toEqual([
      { scope: s, version: 2 },
      { scope: s, version: 3 },
      { scope: s, version: 4 },
    ]);
  });

  it('still notifies a bump that watchEntities makes while the transaction commits', async () => {
    const s = scope('watched');
    const unwatch = watchEntities(orm, { entities: [Doc], store, scope: s });
    try {
      const em = orm.em.fork();
      em.create(Doc, { title: 'a' });
      await em.flush();
      await settled();
      expect(payloadsFor(s)).toEqual([{ scope: s, version: 1 }]);
    } finally {
      unwatch();
    }
  });
});
