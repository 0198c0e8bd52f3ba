import type { Logger } from '@apphook/core';
import { AfterCommitSubscriber, afterCommit, registerAfterCommit } from '@apphook/mikro-orm';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterEach, describe, expect, it } from 'vitest';

const open: MikroORM[] = [];
async function memoryOrm(): Promise<MikroORM> {
  const orm = await MikroORM.init({
    entities: [],
    dbName: ':memory:',
    discovery: { warnWhenNoEntities: false },
  });
  open.push(orm);
  return orm;
}

afterEach(async () => {
  for (const orm of open.splice(0)) await orm.close(true);
});

describe('registerAfterCommit', () => {
  it('registers one subscriber per ORM however often it is called', async () => {
    const orm = await memoryOrm();
    const first = registerAfterCommit(orm);
    expect(registerAfterCommit(orm)).toBe(first);
    const ours = [...orm.em.getEventManager().getSubscribers()].filter(
      (s) => s instanceof AfterCommitSubscriber,
    );
    expect(ours).toHaveLength(1);
  });

  it('reports failing hooks as E_HOOK through the logger of the first registration', async () => {
    const orm = await memoryOrm();
    const errors: unknown[] = [];
    const logger: Logger = { warn() {}, error: (_m, meta) => errors.push(meta?.error) };
    registerAfterCommit(orm, { logger });
    registerAfterCommit(orm, { logger: false });
    await orm.em.fork().transactional(async (em) => {
      afterCommit(em, () => Promise.reject(new Error('boom')));
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'E_HOOK', cause: new Error('boom') });
  });
});

describe('afterCommit', () => {
  it('throws E_STATE inside a transaction that began before registration, instead of running early', async () => {
    const orm = await memoryOrm();
    await orm.em.fork().transactional(async (em) => {
      registerAfterCommit(orm); // too late for this transaction's copy of the subscribers
      expect(() => afterCommit(em, () => {})).toThrow(/before any transaction starts/);
    });
    const em = orm.em.fork();
    const late = await memoryOrm();
    const lateEm = late.em.fork();
    await lateEm.begin();
    registerAfterCommit(late);
    expect(() => afterCommit(lateEm, () => {})).toThrow(expect.objectContaining({ code: 'E_STATE' }));
    await lateEm.rollback();
    // Once registered, later transactions work.
    const log: string[] = [];
    await em.transactional(async (tx) => afterCommit(tx, () => void log.push('ran')));
    expect(log).toEqual(['ran']);
  });

  it('runs at once outside a transaction, even with no subscriber registered', async () => {
    const orm = await memoryOrm();
    const log: string[] = [];
    afterCommit(orm.em.fork(), () => void log.push('now'));
    expect(log).toEqual(['now']);
  });

  it('rejects a hook that is not a function', async () => {
    const orm = await memoryOrm();
    expect(() => afterCommit(orm.em.fork(), 'nope' as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
  });

  it('keeps three levels straight: hooks of a savepoint released into a rolled-back one are dropped', async () => {
    const orm = await memoryOrm();
    registerAfterCommit(orm);
    const log: string[] = [];
    await orm.em.fork().transactional(async (em) => {
      afterCommit(em, () => void log.push('root'));
      await em.transactional(async (l2) => {
        afterCommit(l2, () => void log.push('level 2'));
        await l2.transactional(async (l3) => {
          afterCommit(l3, () => void log.push('level 3'));
        });
        await l2
          .transactional(async (l3b) => {
            afterCommit(l3b, () => void log.push('level 3, rolled back'));
            throw new Error('x');
          })
          .catch(() => {});
      });
      await em
        .transactional(async (l2b) => {
          await l2b.transactional(async (l3c) => {
            afterCommit(l3c, () => void log.push('released into a rolled-back level'));
          });
          throw new Error('y');
        })
        .catch(() => {});
      afterCommit(em, () => void log.push('root again'));
    });
    expect(log).toEqual(['root', 'level 2', 'level 3', 'root again']);
  });
});
