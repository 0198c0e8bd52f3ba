import { type MysqlStore, mysqlStore } from '@apphook/mysql';
import { requireService, services } from '@apphook/test-suite/services';
import {
  DeadlockException,
  type EntityManager,
  LockWaitTimeoutException,
  MikroORM,
} from '@mikro-orm/mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('mysql');
const TABLE = 'ahs_my_retry_token';

describe.skipIf(!available)('retryable errors keep their driver code and MikroORM class (G11)', () => {
  let orm: MikroORM;
  let store: MysqlStore;
  const scope = (label: string) => `retry:${Date.now().toString(36)}:${label}`;
  const tx = <T>(fn: (em: EntityManager) => Promise<T>) => orm.em.fork().transactional(fn);

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

  it("rethrows a deadlock between two scopes bumped in opposite orders as MikroORM's DeadlockException (errno 1213)", async () => {
    const a = scope('a');
    const b = scope('b');
    await tx((em) => store.bump(em, a));
    await tx((em) => store.bump(em, b));
    let bothHoldOne: () => void = () => {};
    const barrier = new Promise<void>((resolve) => {
      let held = 0;
      bothHoldOne = () => {
        if (++held === 2) resolve();
      };
    });
    const crossing = (first: string, second: string) =>
      tx(async (em) => {
        await store.bump(em, first);
        bothHoldOne();
        await barrier;
        return store.bump(em, second);
      });
    const results = await Promise.allSettled([crossing(a, b), crossing(b, a)]);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toBeInstanceOf(DeadlockException);
    expect(failed[0]).toMatchObject({ errno: 1213 });
    // The winner's two bumps committed; the loser's rolled back.
    expect((await store.read(a)) + (await store.read(b))).toBe(4);
  });

  it("rethrows a lock wait timeout on the token row as MikroORM's LockWaitTimeoutException (errno 1205)", async () => {
    const s = scope('timeout');
    await tx((em) => store.bump(em, s));
    let holding: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      holding = resolve;
    });
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const holder = tx(async (em) => {
      await store.bump(em, s);
      holding();
      await done;
    });
    await held;
    const error = await tx(async (em) => {
      await em.execute('set session innodb_lock_wait_timeout = 1');
      return store.bump(em, s);
    }).catch((e: unknown) => e);
    finish();
    await holder;
    expect(error).toBeInstanceOf(LockWaitTimeoutException);
    expect(error).toMatchObject({ errno: 1205 });
    expect(await store.read(s)).toBe(2);
  });
});
