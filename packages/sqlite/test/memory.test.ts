import { sqliteStore } from '@apphook/sqlite';
import { MikroORM } from '@mikro-orm/sqlite';
import { describe, expect, it } from 'vitest';

const TABLE = 'ahs_sqlite_memory_token';
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function memoryStore() {
  const orm = await MikroORM.init({
    entities: [],
    dbName: ':memory:',
    discovery: { warnWhenNoEntities: false },
  });
  const store = sqliteStore(orm, { tableName: TABLE, logger: false });
  await store.ensureSchema();
  return { orm, store };
}

describe(':memory: databases (one connection)', () => {
  it('never shows an uncommitted bump to read(): a read during an open transaction waits for it to end', async () => {
    const { orm, store } = await memoryStore();
    try {
      await orm.em.fork().transactional((em) => store.bump(em, 's'));
      const log: string[] = [];
      let pending: Promise<number> | undefined;
      await orm.em.fork().transactional(async (em) => {
        expect(await store.bump(em, 's')).toBe(2);
        pending = store.read('s');
        void pending.then((v) => log.push(`read ${v}`));
        await tick(200);
        log.push('commit');
      });
      expect(await pending).toBe(2);
      expect(log).toEqual(['commit', 'read 2']);
    } finally {
      await store.close();
      await orm.close(true);
    }
  });

  it('never shows an uncommitted bump to read(): a read during a rolled-back transaction reads the old version', async () => {
    const { orm, store } = await memoryStore();
    try {
      await orm.em.fork().transactional((em) => store.bump(em, 's'));
      let pending: Promise<number> | undefined;
      await orm.em
        .fork()
        .transactional(async (em) => {
          await store.bump(em, 's');
          pending = store.read('s');
          await tick(100);
          throw new Error('rollback');
        })
        .catch(() => {});
      expect(await pending).toBe(1);
    } finally {
      await store.close();
      await orm.close(true);
    }
  });

  it('runs readSnapshot on the one connection, after an open transaction ends, never seeing its rolled-back bump', async () => {
    const { orm, store } = await memoryStore();
    try {
      await orm.em.fork().transactional((em) => store.bump(em, 's'));
      let pending: Promise<number> | undefined;
      await orm.em
        .fork()
        .transactional(async (em) => {
          await store.bump(em, 's');
          pending = store.readSnapshot('s', async (snap) => snap.version);
          await tick(100);
          throw new Error('rollback');
        })
        .catch(() => {});
      expect(await pending).toBe(1);
      await orm.em.fork().transactional((em) => store.bump(em, 's'));
      expect(await store.readSnapshot('s', async (snap) => snap.version)).toBe(2);
    } finally {
      await store.close();
      await orm.close(true);
    }
  });
});
