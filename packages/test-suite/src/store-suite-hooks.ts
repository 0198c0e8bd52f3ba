import { afterCommit, watchEntities } from '@apphook/mikro-orm';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from './store-suite-context.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** After-commit hooks with Django on_commit semantics (G2) and entity watching. */
export function storeSuiteHooks(c: SuiteContext): void {
  describe('after-commit hooks', () => {
    it('runs hooks once, after the commit, in registration order, before em.transactional() resolves', async () => {
      const scope = c.scope('hooks');
      const log: string[] = [];
      await c.tx(async (em) => {
        await c.store.bump(em, scope);
        c.store.afterCommit?.(em, async () => {
          // Slow on purpose: the caller's commit must wait for it.
          await tick(30);
          log.push(`first sees ${await c.store.read(scope)}`);
        });
        afterCommit(em, () => {
          log.push('second');
        });
        await em.transactional(async (inner) => {
          afterCommit(inner, () => {
            log.push('from released savepoint');
          });
        });
        await tick(5);
        expect(log).toEqual([]);
      });
      expect(log).toEqual(['first sees 1', 'second', 'from released savepoint']);
      await tick(20);
      expect(log).toHaveLength(3);
    });

    it('drops the hooks of a rolled-back savepoint and runs those of the committed outer transaction', async () => {
      const scope = c.scope('savepoint-hooks');
      const log: string[] = [];
      await c.tx(async (em) => {
        await c.store.bump(em, scope);
        afterCommit(em, () => {
          log.push('outer');
        });
        await em
          .transactional(async (inner) => {
            await c.store.bump(inner, scope);
            afterCommit(inner, () => {
              log.push('rolled back');
            });
            await inner.transactional(async (innermost) => {
              afterCommit(innermost, () => {
                log.push('released into a rolled-back savepoint');
              });
            });
            throw new Error('savepoint rollback');
          })
          .catch(() => {});
      });
      expect(log).toEqual(['outer']);
      expect(await c.store.read(scope)).toBe(1);
    });

    it('never runs hooks of a rolled-back transaction, even from a released savepoint', async () => {
      const log: string[] = [];
      await c
        .tx(async (em) => {
          afterCommit(em, () => {
            log.push('outer');
          });
          await em.transactional(async (inner) => {
            afterCommit(inner, () => {
              log.push('inner');
            });
          });
          throw new Error('rollback');
        })
        .catch(() => {});
      await tick(10);
      expect(log).toEqual([]);
    });

    it('runs a hook at once when the EntityManager is in no transaction', () => {
      const log: string[] = [];
      afterCommit(c.orm.em.fork(), () => {
        log.push('now');
      });
      expect(log).toEqual(['now']);
    });

    it('runs one hook per key per root transaction: the last registration that survived', async () => {
      const log: string[] = [];
      await c.tx(async (em) => {
        afterCommit(em, () => void log.push('a1'), { key: 'k' });
        afterCommit(em, () => void log.push('b'));
        await em.transactional(async (inner) => {
          afterCommit(inner, () => void log.push('a2'), { key: 'k' });
        });
        await em
          .transactional(async (inner) => {
            afterCommit(inner, () => void log.push('a3'), { key: 'k' });
            throw new Error('drop a3');
          })
          .catch(() => {});
      });
      expect(log).toEqual(['a2', 'b']);
    });

    it('runs hooks after em.begin() / em.commit(), and drops them on em.rollback()', async () => {
      const log: string[] = [];
      const em = c.orm.em.fork();
      await em.begin();
      afterCommit(em, () => void log.push('committed'));
      expect(log).toEqual([]);
      await em.commit();
      expect(log).toEqual(['committed']);
      await em.begin();
      afterCommit(em, () => void log.push('rolled back'));
      await em.rollback();
      expect(log).toEqual(['committed']);
    });

    it('reports a failing hook, runs the next, and resolves the committed transaction', async () => {
      const scope = c.scope('failing-hook');
      const log: string[] = [];
      const before = c.hookErrors.length;
      await c.tx(async (em) => {
        await c.store.bump(em, scope);
        afterCommit(em, () => {
          throw new Error('hook failed');
        });
        afterCommit(em, () => void log.push('next'));
      });
      expect(log).toEqual(['next']);
      expect(await c.store.read(scope)).toBe(1);
      expect(c.hookErrors.length).toBe(before + 1);
      expect(String((c.hookErrors.at(-1) as Error).message)).toContain('hook failed');
    });

    it('runs hooks outside the finished transaction', async () => {
      let inTransaction: boolean | undefined;
      await c.tx(async (em) => {
        afterCommit(em, () => {
          inTransaction = c.orm.em.isInTransaction();
        });
      });
      expect(inTransaction).toBe(false);
    });
  });

  describe('watchEntities', () => {
    it('bumps once per flush that changes a watched entity, in the flush transaction', async () => {
      const scope = c.scope('watch');
      const unwatch = watchEntities(c.orm, { entities: [c.Page], store: c.store, scope });
      try {
        const em = c.orm.em.fork();
        const page = em.create(c.Page, { path: `/watch/${scope}` });
        await em.flush(); // implicit transaction
        expect(await c.store.read(scope)).toBe(1);
        page.path = `/watch/${scope}/moved`;
        em.create(c.Page, { path: `/watch/${scope}/second` });
        await em.flush(); // an update and an insert: still one bump
        expect(await c.store.read(scope)).toBe(2);
        em.remove(page);
        await em.flush();
        expect(await c.store.read(scope)).toBe(3);
        em.create(c.Note, { text: 'not watched' });
        await em.flush();
        await em.flush(); // nothing to flush
        expect(await c.store.read(scope)).toBe(3);
      } finally {
        unwatch();
      }
    });

    it('bumps inside em.transactional() and undoes the bump on rollback', async () => {
      const scope = c.scope('watch-tx');
      const unwatch = watchEntities(c.orm, { entities: [c.Page], store: c.store, scope });
      try {
        await c.tx(async (em) => {
          em.create(c.Page, { path: `/watch-tx/${scope}` });
        });
        expect(await c.store.read(scope)).toBe(1);
        await c
          .tx(async (em) => {
            em.create(c.Page, { path: `/watch-tx/${scope}/lost` });
            await em.flush();
            throw new Error('rollback');
          })
          .catch(() => {});
        expect(await c.store.read(scope)).toBe(1);
        const em = c.orm.em.fork();
        await em.begin();
        em.create(c.Page, { path: `/watch-tx/${scope}/begin` });
        await em.commit();
        expect(await c.store.read(scope)).toBe(2);
      } finally {
        unwatch();
      }
    });

    it('bumps in the same transaction as the flush: a failing bump leaves the rows unwritten', async () => {
      const scope = c.scope('watch-fail');
      const missing = c.options.createStore(c.orm, { tableName: `${c.options.prefix}_missing` });
      const unwatch = watchEntities(c.orm, { entities: [c.Page], store: missing, scope });
      const path = `/watch-fail/${scope}`;
      try {
        const em = c.orm.em.fork();
        em.create(c.Page, { path });
        await expect(em.flush()).rejects.toMatchObject({ code: 'E_SCHEMA' });
        expect(await c.orm.em.fork().count(c.Page, { path })).toBe(0);
      } finally {
        unwatch();
        await missing.close();
      }
    });

    it('stops bumping after unwatch', async () => {
      const scope = c.scope('unwatch');
      const unwatch = watchEntities(c.orm, { entities: [c.Page], store: c.store, scope });
      unwatch();
      const em = c.orm.em.fork();
      em.create(c.Page, { path: `/unwatch/${scope}` });
      await em.flush();
      expect(await c.store.read(scope)).toBe(0);
    });
  });
}
