import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApphookOptionError } from '@apphook/core';
import { sqliteStore } from '@apphook/sqlite';
import { MikroORM as BetterSqliteOrm } from '@mikro-orm/better-sqlite';
import { MikroORM as LibSqlOrm } from '@mikro-orm/libsql';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'apphook-sqlite6-drivers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const options = { entities: [], discovery: { warnWhenNoEntities: false } };

describe('SQLite drivers on MikroORM 6', () => {
  it('refuses @mikro-orm/libsql with E_OPTION naming @mikro-orm/better-sqlite, instead of hanging in a read', async () => {
    const orm = await LibSqlOrm.init({ ...options, dbName: join(dir, 'libsql.sqlite') });
    try {
      const attempt = () => sqliteStore(orm);
      expect(attempt).toThrow(ApphookOptionError);
      expect(attempt).toThrow(/needs the @mikro-orm\/better-sqlite driver, got LibSqlDriver/);
    } finally {
      await orm.close(true);
    }
  });

  it('serves @mikro-orm/better-sqlite through its own read connection, skipping polls with data_version', async () => {
    const orm = await BetterSqliteOrm.init({ ...options, dbName: join(dir, 'better.sqlite') });
    const store = sqliteStore(orm);
    try {
      await store.ensureSchema();
      expect(await store.read('default')).toBe(0);
      expect(await store.read('default')).toBe(0);
      expect(store.stats()).toEqual({ queries: 1, skipped: 1 });
      await orm.em.fork().transactional((em) => store.bump(em, 'default'));
      expect(await store.read('default')).toBe(1);
    } finally {
      await store.close();
      await orm.close(true);
    }
  });
});
