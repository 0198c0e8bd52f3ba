import { defineApphookToken, postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import { MikroORM } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';

const available = await requireService('postgres');
const SCHEMA = 'ahs_pg_schema';
const TABLE = 'ahs_pg_schema_token';

describe.skipIf(!available)('a configured Postgres schema', () => {
  it('keeps the token table in the ORM schema, where the entity and migrations put it', async () => {
    const Token = defineApphookToken({ tableName: TABLE });
    const orm = await MikroORM.init({ entities: [Token], clientUrl: services.postgres, schema: SCHEMA });
    try {
      await orm.em.getConnection().execute(`create schema if not exists "${SCHEMA}"`);
      await orm.em.getConnection().execute(`drop table if exists "${SCHEMA}"."${TABLE}"`);
      const store = postgresStore(orm, { tableName: TABLE, channel: false });
      await store.ensureSchema();
      expect(await orm.schema.getUpdateSchemaSQL({ wrap: false, dropTables: false })).toBe('');
      expect(await orm.em.fork().transactional((em) => store.bump(em, 'default'))).toBe(1);
      expect(await store.read('default')).toBe(1);
      const rows: Array<{ version: unknown }> = await orm.em
        .getConnection()
        .execute(`select version from "${SCHEMA}"."${TABLE}" where scope = 'default'`);
      expect(rows.map((r) => Number(r.version))).toEqual([1]);
    } finally {
      await orm.close(true);
    }
  });
});
