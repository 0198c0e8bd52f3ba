import { type MysqlStore, mysqlStore } from '@apphook/mysql';
import { requireService, services } from '@apphook/test-suite/services';
import { MikroORM } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('mysql');
const TABLE = 'ahs_my_snapshot_token';

describe.skipIf(!available)('reads under REPEATABLE READ (G4)', () => {
  let orm: MikroORM;
  let store: MysqlStore;

  beforeAll(async () => {
    orm = await MikroORM.init({
      entities: [],
      clientUrl: services.mysql,
      discovery: { warnWhenNoEntities: false },
    });
    store = mysqlStore(orm, { tableName: TABLE });
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store?.close();
    await orm?.close(true);
  });

  it('sees a commit that happened after an open transaction took its snapshot, even when called inside it', async () => {
    const scope = `snapshot:${Date.now().toString(36)}`;
    await orm.em.fork().transactional((em) => store.bump(em, scope));
    await orm.em.fork().transactional(async (em) => {
      const own = () => em.execute(`select version from ${TABLE} where scope = ?`, [scope]);
      expect(Number((await own())[0]?.version)).toBe(1); // the snapshot is taken here
      // Another connection commits version 2 while this transaction is open.
      await orm.em.fork().transactional((other) => store.bump(other, scope));
      // The open transaction's snapshot still shows 1: the trap G4 is about.
      expect(Number((await own())[0]?.version)).toBe(1);
      // The store reads on its own connection with a fresh snapshot.
      expect(await store.read(scope)).toBe(2);
    });
  });

  it('returns the inserted version on the first bump and the incremented one afterwards', async () => {
    const scope = `first:${Date.now().toString(36)}`;
    expect(await orm.em.fork().transactional((em) => store.bump(em, scope))).toBe(1);
    expect(await orm.em.fork().transactional((em) => store.bump(em, scope))).toBe(2);
    // After another statement set LAST_INSERT_ID on the same connection, a fresh scope still starts at 1.
    const fresh = `${scope}:fresh`;
    expect(await orm.em.fork().transactional((em) => store.bump(em, fresh))).toBe(1);
  });

  it('bumps a scope on its own connection when the EntityManager is in no transaction', async () => {
    const scope = `alone:${Date.now().toString(36)}`;
    const em = orm.em.fork();
    expect(await store.bump(em, scope)).toBe(1);
    expect(await store.bump(em, scope)).toBe(2);
    expect(em.isInTransaction()).toBe(false);
  });
});
