import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SqliteStore, sqliteStore } from '@apphook/sqlite';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('PRAGMA data_version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'apphook-sqlite-dv-'));
  const file = join(dir, 'dv.sqlite');
  let orm: MikroORM;
  let store: SqliteStore;

  beforeAll(async () => {
    orm = await MikroORM.init({ entities: [], dbName: file, discovery: { warnWhenNoEntities: false } });
    store = sqliteStore(orm, { tableName: 'ahs_sqlite_dv_token' });
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store?.close();
    await orm?.close(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('skips the query when nothing was committed since the last read', async () => {
    await store.read('dv:a');
    const before = store.stats();
    expect(await store.read('dv:a')).toBe(0);
    expect(await store.read('dv:a')).toBe(0);
    expect(store.stats()).toEqual({ queries: before.queries, skipped: before.skipped + 2 });
  });

  it("queries again after a commit of this process's own ORM", async () => {
    await store.read('dv:b');
    const before = store.stats();
    await orm.em.fork().transactional((em) => store.bump(em, 'dv:b'));
    expect(await store.read('dv:b')).toBe(1);
    expect(store.stats().queries).toBe(before.queries + 1);
  });

  it('queries again after a commit by another connection to the file', async () => {
    expect(await store.read('dv:c')).toBe(0);
    const other = await MikroORM.init({
      entities: [],
      dbName: file,
      discovery: { warnWhenNoEntities: false },
    });
    try {
      await other.em
        .getConnection()
        .execute("insert into ahs_sqlite_dv_token (scope, version) values ('dv:c', 7)");
    } finally {
      await other.close(true);
    }
    const before = store.stats();
    expect(await store.read('dv:c')).toBe(7);
    expect(store.stats().queries).toBe(before.queries + 1);
  });

  it('does not skip on a scope it has not read since the last commit', async () => {
    await store.read('dv:d');
    const before = store.stats();
    expect(await store.read('dv:e')).toBe(0);
    expect(store.stats().queries).toBe(before.queries + 1);
  });

  it('never answers from the cache across a rolled-back write', async () => {
    expect(await store.read('dv:f')).toBe(0);
    await orm.em
      .fork()
      .transactional(async (em) => {
        await store.bump(em, 'dv:f');
        throw new Error('rollback');
      })
      .catch(() => {});
    expect(await store.read('dv:f')).toBe(0);
  });
});
