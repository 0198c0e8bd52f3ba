import { ApphookOptionError } from '@apphook/core';
import { ApphookToken, defineApphookToken } from '@apphook/mikro-orm';
import { EntityCaseNamingStrategy, MikroORM } from '@mikro-orm/sqlite';
import { describe, expect, it } from 'vitest';

describe('ApphookToken', () => {
  it('maps the apphook_token table with scope as primary key, version and updated_at', async () => {
    const orm = await MikroORM.init({ entities: [ApphookToken], dbName: ':memory:' });
    try {
      const meta = orm.getMetadata().get(ApphookToken);
      expect(meta.className).toBe('ApphookToken');
      expect(meta.tableName).toBe('apphook_token');
      expect(meta.primaryKeys).toEqual(['scope']);
      const sql = await orm.schema.getCreateSchemaSQL({ wrap: false });
      expect(sql).toContain(
        'create table `apphook_token` (`scope` text not null primary key, `version` bigint not null, `updated_at` datetime not null default current_timestamp);',
      );
    } finally {
      await orm.close(true);
    }
  });

  it('keeps its column names under any naming strategy', async () => {
    const orm = await MikroORM.init({
      entities: [ApphookToken],
      dbName: ':memory:',
      namingStrategy: EntityCaseNamingStrategy,
    });
    try {
      const sql = await orm.schema.getCreateSchemaSQL({ wrap: false });
      expect(sql).toContain('`updated_at`');
      expect(sql).not.toContain('updatedAt');
    } finally {
      await orm.close(true);
    }
  });

  it('needs no decorators: the entity round-trips through the ORM', async () => {
    const orm = await MikroORM.init({ entities: [ApphookToken], dbName: ':memory:' });
    try {
      await orm.schema.create();
      const em = orm.em.fork();
      em.create(ApphookToken, { scope: 'default', version: 3, updatedAt: new Date() });
      await em.flush();
      const row = await orm.em.fork().findOneOrFail(ApphookToken, { scope: 'default' });
      expect(row.version).toBe(3);
    } finally {
      await orm.close(true);
    }
  });
});

describe('defineApphookToken', () => {
  it('maps a custom table under its own entity name, so it can sit beside ApphookToken', () => {
    const Custom = defineApphookToken({ tableName: 'tenant_tokens' });
    expect(Custom.meta.tableName).toBe('tenant_tokens');
    expect(Custom.meta.className).toBe('ApphookToken_tenant_tokens');
    expect(defineApphookToken({ tableName: 'x', name: 'MyToken' }).meta.className).toBe('MyToken');
  });

  it('rejects a table name that is not a plain identifier', () => {
    for (const tableName of ['a b', 'x;drop table y', 'schema.table', '9lives', '', 'x'.repeat(64)]) {
      expect(() => defineApphookToken({ tableName })).toThrow(ApphookOptionError);
    }
    expect(() => defineApphookToken({ tableName: 'a b' })).toThrow(/plain identifier/);
  });
});
