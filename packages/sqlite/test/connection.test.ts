import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApphookOptionError } from '@apphook/core';
import { sqliteStore } from '@apphook/sqlite';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'apphook-sqlite-conn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function nativeOf(orm: MikroORM) {
  return (await orm.em.getConnection().getNativeClient()) as unknown as {
    pragma(source: string, options?: { simple?: boolean }): unknown;
  };
}

const init = (dbName: string) =>
  MikroORM.init({ entities: [], dbName, discovery: { warnWhenNoEntities: false } });

describe('SQLite connection settings', () => {
  it('switches the file to WAL and sets the busy timeout at the first read', async () => {
    const orm = await init(join(dir, 'wal.sqlite'));
    const store = sqliteStore(orm, { tableName: 'ahs_sqlite_conn_token', busyTimeoutMs: 1234 });
    try {
      const native = await nativeOf(orm);
      expect(native.pragma('journal_mode', { simple: true })).toBe('delete');
      await store.ensureSchema();
      expect(await store.read('default')).toBe(0);
      expect(native.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(native.pragma('busy_timeout', { simple: true })).toBe(1234);
    } finally {
      await store.close();
      await orm.close(true);
    }
  });

  it('reads the committed version when its first read happens inside an open transaction', async () => {
    const orm = await init(join(dir, 'first-read.sqlite'));
    const creator = sqliteStore(orm, { tableName: 'ahs_sqlite_conn_token', wal: false });
    await creator.ensureSchema();
    await creator.close();
    const store = sqliteStore(orm, { tableName: 'ahs_sqlite_conn_token' });
    try {
      await orm.em.fork().transactional(async (em) => {
        await store.bump(em, 'inside');
        // The ORM has a single connection, busy with this transaction: the store must not wait for it.
        expect(await store.read('inside')).toBe(0);
      });
      expect(await store.read('inside')).toBe(1);
      // WAL could not be switched on inside the transaction; the next read outside did it.
      expect((await nativeOf(orm)).pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      await store.close();
      await orm.close(true);
    }
  });

  it('leaves the journal mode alone with wal: false', async () => {
    const orm = await init(join(dir, 'nowal.sqlite'));
    const store = sqliteStore(orm, { tableName: 'ahs_sqlite_conn_token', wal: false });
    try {
      await store.ensureSchema();
      await store.read('default');
      expect((await nativeOf(orm)).pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      await store.close();
      await orm.close(true);
    }
  });

  it('works on a :memory: database through the ORM connection, without skipping reads', async () => {
    const orm = await init(':memory:');
    const store = sqliteStore(orm, { tableName: 'ahs_sqlite_conn_token' });
    try {
      await store.ensureSchema();
      expect(await orm.em.fork().transactional((em) => store.bump(em, 'default'))).toBe(1);
      expect(await store.read('default')).toBe(1);
      expect(await store.read('default')).toBe(1);
      expect(store.stats()).toEqual({ queries: 2, skipped: 0 });
    } finally {
      await store.close();
      await orm.close(true);
    }
  });

  it('rejects bad options with ApphookOptionError', async () => {
    const orm = await init(':memory:');
    try {
      expect(() => sqliteStore(orm, { busyTimeoutMs: -1 })).toThrow(ApphookOptionError);
      expect(() => sqliteStore(orm, { busyTimeoutMs: 1.5 })).toThrow(/busyTimeoutMs/);
      expect(() => sqliteStore(orm, { wal: 'yes' as unknown as boolean })).toThrow(/wal must be/);
      expect(() => sqliteStore(orm, 'x' as never)).toThrow(/options must be an object/);
    } finally {
      await orm.close(true);
    }
  });
});
