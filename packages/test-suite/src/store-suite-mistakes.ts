import type { ApphookError, Logger } from '@apphook/core';
import { watchEntities } from '@apphook/mikro-orm';
import type { EntityManager } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { type SuiteContext, tableUpdateSQL } from './store-suite-context.js';

/** The mistakes users make with a store, each caught with a message that says what to do (G11). */
export function storeSuiteMistakes(c: SuiteContext): void {
  const recorder = () => {
    const warnings: string[] = [];
    const logger: Logger = { warn: (message) => warnings.push(message), error() {} };
    return { warnings, logger };
  };

  describe('mistakes', () => {
    it('warns at creation, naming the entity to add, when no ORM entity maps to the token table', async () => {
      const tableName = `${c.options.prefix}_unregistered`;
      const { warnings, logger } = recorder();
      const store = c.options.createStore(c.orm, { tableName, logger });
      try {
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain(`"${tableName}"`);
        expect(warnings[0]).toContain(
          `add defineApphookToken({ tableName: '${tableName}' }) to \`entities\``,
        );
        expect(warnings[0]).toContain('orm.schema.update()');
        const warning = (store as unknown as { entityWarning?: ApphookError }).entityWarning;
        expect(warning?.code).toBe('E_SCHEMA');
        // Why it matters: the table ensureSchema() made is one the schema generator would drop.
        await store.ensureSchema();
        const diff = await tableUpdateSQL(c.options.createOrm, c.entities, tableName);
        expect(diff).toMatch(new RegExp(`drop table[^;]*${tableName}`, 'i'));
      } finally {
        const quoted = c.orm.em.getPlatform().quoteIdentifier(tableName);
        await c.orm.em.getConnection().execute(`drop table if exists ${quoted}`, [], 'run');
        await store.close();
      }
    });

    it('does not warn when the token entity is among the ORM entities', async () => {
      const { warnings, logger } = recorder();
      const store = c.options.createStore(c.orm, { tableName: c.tableName, logger });
      expect(warnings).toEqual([]);
      expect((store as unknown as { entityWarning?: ApphookError }).entityWarning).toBeUndefined();
      await store.close();
    });

    describe('watchEntities and markChanged in one transaction: one bump per scope and transaction', () => {
      const watched = async (scope: string, fn: (em: EntityManager) => Promise<unknown>) => {
        const unwatch = watchEntities(c.orm, { entities: [c.Page], store: c.store, scope });
        try {
          return await c.tx(fn);
        } finally {
          unwatch();
        }
      };
      const page = (em: EntityManager, scope: string, n: number) => {
        em.create(c.Page, { path: `/once/${scope}/${n}` });
        return em.flush();
      };

      it('does not bump again on a watched flush after markChanged', async () => {
        const scope = c.scope('mark-then-flush');
        const versions = await watched(scope, async (em) => {
          const v = await c.store.bump(em, scope);
          await page(em, scope, 1);
          await page(em, scope, 2);
          return v;
        });
        expect(versions).toBe(1);
        expect(await c.store.read(scope)).toBe(1);
      });

      it("adds nothing with markChanged after a watched flush, returning the flush's version", async () => {
        const scope = c.scope('flush-then-mark');
        await c.tx((em) => c.store.bump(em, scope));
        const versions = await watched(scope, async (em) => {
          await page(em, scope, 1);
          return [await c.store.bump(em, scope), await c.store.bump(em, scope)];
        });
        expect(versions).toEqual([2, 2]);
        expect(await c.store.read(scope)).toBe(2);
      });

      it('bumps again when the savepoint of the earlier bump rolled back', async () => {
        const scope = c.scope('savepoint-once');
        await watched(scope, async (em) => {
          await em
            .transactional(async (inner) => {
              await page(inner, scope, 1);
              throw new Error('savepoint rollback');
            })
            .catch(() => {});
          await page(em, scope, 2);
          expect(await c.store.bump(em, scope)).toBe(1);
        });
        expect(await c.store.read(scope)).toBe(1);
      });
    });
  });
}
