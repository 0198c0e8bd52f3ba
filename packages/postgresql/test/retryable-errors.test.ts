import { type PostgresStore, postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import { DeadlockException, type EntityManager, IsolationLevel, MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('postgres');
const TABLE = 'ahs_pg_retry_token';

/** The retry wrapper users write around MikroORM transactions: it knows MikroORM's classes, not apphook's. */
async function withRetry<T>(attempts: number, fn: () => Promise<T>, seen: unknown[]): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      seen.push(error);
      if (!(error instanceof DeadlockException) || attempt >= attempts) throw error;
    }
  }
}

describe.skipIf(!available)('retryable errors keep their driver code and MikroORM class (G11)', () => {
  let orm: MikroORM;
  let store: PostgresStore;
  const scope = (label: string) => `retry:${Date.now().toString(36)}:${label}`;
  const tx = <T>(fn: (em: EntityManager) => Promise<T>) => orm.em.fork().transactional(fn);

  beforeAll(async () => {
    orm = await MikroORM.init({
      entities: [],
      clientUrl: services.postgres,
      discovery: { warnWhenNoEntities: false },
    });
    store = postgresStore(orm, { tableName: TABLE, channel: false });
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store?.close();
    await orm?.close(true);
  });

  for (const isolationLevel of [IsolationLevel.SERIALIZABLE, IsolationLevel.REPEATABLE_READ]) {
    it(`rethrows a ${isolationLevel} serialization failure as MikroORM's DeadlockException with SQLSTATE 40001, so a retry wrapper retries`, async () => {
      const s = scope(isolationLevel.replace(' ', '-'));
      await tx((em) => store.bump(em, s));
      const seen: unknown[] = [];
      let interleave = true;
      const version = await withRetry(
        3,
        () =>
          orm.em.fork().transactional(
            async (em) => {
              await em.execute('select 1'); // the transaction's snapshot is taken here
              if (interleave) {
                interleave = false;
                // A second transaction bumps the same scope and commits after that snapshot.
                await orm.em.fork().transactional((other) => store.bump(other, s), { isolationLevel });
              }
              return store.bump(em, s);
            },
            { isolationLevel },
          ),
        seen,
      );
      expect(seen).toHaveLength(1);
      expect(seen[0]).toBeInstanceOf(DeadlockException);
      expect(seen[0]).toMatchObject({ code: '40001' });
      expect(version).toBe(3);
      expect(await store.read(s)).toBe(3);
    });
  }
});
