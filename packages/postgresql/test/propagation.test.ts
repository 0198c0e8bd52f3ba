import { afterCommit, postgresStore } from '@apphook/postgresql';
import { requireService, services } from '@apphook/test-suite/services';
import { MikroORM, TransactionPropagation } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = await requireService('postgres');

describe.skipIf(!available)('after-commit hooks and transaction propagation', () => {
  let orm: MikroORM;

  beforeAll(async () => {
    orm = await MikroORM.init({
      entities: [],
      clientUrl: services.postgres,
      discovery: { warnWhenNoEntities: false },
    });
    postgresStore(orm, { tableName: 'ahs_pg_propagation_token' });
  });

  afterAll(async () => {
    await orm?.close(true);
  });

  it('runs hooks of a REQUIRES_NEW transaction at its own commit, whatever the outer one does', async () => {
    const log: string[] = [];
    await orm.em
      .fork()
      .transactional(async (em) => {
        afterCommit(em, () => void log.push('outer'));
        await em.transactional(
          async (inner) => {
            afterCommit(inner, () => void log.push('independent'));
          },
          { propagation: TransactionPropagation.REQUIRES_NEW },
        );
        expect(log).toEqual(['independent']);
        throw new Error('outer rollback');
      })
      .catch(() => {});
    expect(log).toEqual(['independent']);
  });

  it('runs hooks of a REQUIRED (joined) transaction with the outer commit', async () => {
    const log: string[] = [];
    await orm.em.fork().transactional(async (em) => {
      await em.transactional(
        async (inner) => {
          afterCommit(inner, () => void log.push('joined'));
        },
        { propagation: TransactionPropagation.REQUIRED },
      );
      expect(log).toEqual([]);
    });
    expect(log).toEqual(['joined']);
  });
});
