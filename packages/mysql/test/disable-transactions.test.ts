import { type MysqlStore, mysqlStore } from '@apphook/mysql';
import { requireService, services } from '@apphook/test-suite/services';
import { MikroORM } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('mysql');
const TABLE = 'ahs_my_notx_token';

describe.skipIf(!available)('an ORM with disableTransactions', () => {
  let orm: MikroORM;
  let store: MysqlStore;

  beforeAll(async () => {
    orm = await MikroORM.init({
      entities: [],
      clientUrl: services.mysql,
      disableTransactions: true,
      pool: { min: 4, max: 8 },
      discovery: { warnWhenNoEntities: false },
    });
    store = mysqlStore(orm, { tableName: TABLE, logger: false });
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store?.close();
    await orm?.close(true);
  });

  it('returns each bump its own version: LAST_INSERT_ID is read on the connection that bumped', async () => {
    const run = Date.now().toString(36);
    // Scopes at very different versions: a LAST_INSERT_ID read on another pooled connection returns another
    // scope's number.
    const scopes = Array.from({ length: 8 }, (_, i) => `notx:${run}:${i}`);
    for (const [i, scope] of scopes.entries()) {
      for (let n = 0; n < i * 10; n++) await store.bump(orm.em.fork(), scope);
    }
    const rounds = 10;
    const results = await Promise.all(
      scopes.map(async (scope) => {
        const versions: number[] = [];
        for (let n = 0; n < rounds; n++) {
          versions.push(await orm.em.fork().transactional((em) => store.bump(em, scope)));
        }
        return versions;
      }),
    );
    for (const [i, scope] of scopes.entries()) {
      expect(results[i]).toEqual(Array.from({ length: rounds }, (_, n) => i * 10 + n + 1));
      expect(await store.read(scope)).toBe(i * 10 + rounds);
    }
  });
});
