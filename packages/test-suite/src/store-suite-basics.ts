import { ApphookOptionError } from '@apphook/core';
import { defineApphookToken } from '@apphook/mikro-orm';
import type { EntityManager } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { rejection, type SuiteContext, tableUpdateSQL } from './store-suite-context.js';

interface SqlEm {
  execute(sql: string, params?: unknown[], method?: 'all' | 'get' | 'run'): Promise<unknown>;
}

const sqlEm = (em: EntityManager) => em as unknown as SqlEm;

/** Bumps, reads, rollbacks, savepoints, concurrency, schema and scope errors (G1, G4, G11). */
export function storeSuiteBasics(c: SuiteContext): void {
  describe('bump and read', () => {
    it('reads 0 for a scope that was never bumped', async () => {
      expect(await c.store.read(c.scope('never'))).toBe(0);
    });

    it('bumps inside a transaction and reads the committed version as a number', async () => {
      const scope = c.scope('bump');
      expect(await c.tx((em) => c.store.bump(em, scope))).toBe(1);
      const second = await c.tx((em) => c.store.bump(em, scope));
      expect(second).toBe(2);
      const read = await c.store.read(scope);
      expect(read).toBe(2);
      expect(typeof read).toBe('number');
    });

    it('counts every bump of one transaction', async () => {
      const scope = c.scope('twice');
      const versions = await c.tx(async (em) => [
        await c.store.bump(em, scope),
        await c.store.bump(em, scope),
      ]);
      expect(versions).toEqual([1, 2]);
      expect(await c.store.read(scope)).toBe(2);
    });

    it('bumps on its own when the EntityManager is in no transaction', async () => {
      const scope = c.scope('autocommit');
      expect(await c.store.bump(c.orm.em.fork(), scope)).toBe(1);
      expect(await c.store.read(scope)).toBe(1);
    });

    it('does not show an uncommitted bump to read', async () => {
      const scope = c.scope('uncommitted');
      await c.tx((em) => c.store.bump(em, scope));
      await c.tx(async (em) => {
        expect(await c.store.bump(em, scope)).toBe(2);
        expect(await c.store.read(scope)).toBe(1);
      });
      expect(await c.store.read(scope)).toBe(2);
    });

    // 400 transactions on one hot row: about 1 s alone, 15 to 30 s with the suite running beside it on 2 cores.
    // The limit only catches a hang; on a timeout the writers stop (`signal`) instead of holding the pool's
    // connections and the row lock through the tests that follow.
    it('never loses an increment when many connections bump at once', { timeout: 180_000 }, async ({
      signal,
    }) => {
      const scope = c.scope('concurrent');
      const writers = c.options.writers ?? 8;
      const perWriter = 50;
      await c.tx((em) => c.store.bump(em, scope));
      const start = await c.store.read(scope);
      const returned: number[] = [];
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = 0; i < perWriter && !signal.aborted; i++) {
            returned.push(await c.tx((em) => c.store.bump(em, scope)));
          }
        }),
      );
      expect(await c.store.read(scope)).toBe(start + writers * perWriter);
      // Each transaction got its own version: none was handed out twice.
      expect(new Set(returned).size).toBe(writers * perWriter);
    });
  });

  describe('rollbacks and savepoints', () => {
    it('leaves the version unchanged when the transaction rolls back', async () => {
      const scope = c.scope('rollback');
      await c.tx((em) => c.store.bump(em, scope));
      await expect(
        c.tx(async (em) => {
          await c.store.bump(em, scope);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await c.store.read(scope)).toBe(1);
    });

    it('leaves the version unchanged when an outer rollback follows a released savepoint', async () => {
      const scope = c.scope('released');
      await expect(
        c.tx(async (em) => {
          await em.transactional((inner) => c.store.bump(inner, scope));
          throw new Error('outer rollback');
        }),
      ).rejects.toThrow('outer rollback');
      expect(await c.store.read(scope)).toBe(0);
    });

    it('keeps the outer bump and undoes the inner one when a savepoint rolls back', async () => {
      const scope = c.scope('savepoint');
      await c.tx(async (em) => {
        await c.store.bump(em, scope);
        await expect(
          em.transactional(async (inner) => {
            await c.store.bump(inner, scope);
            throw new Error('savepoint rollback');
          }),
        ).rejects.toThrow('savepoint rollback');
      });
      expect(await c.store.read(scope)).toBe(1);
    });

    it('bumps through em.begin() and em.commit(), and undoes through em.rollback()', async () => {
      const scope = c.scope('begin');
      const em = c.orm.em.fork();
      await em.begin();
      await c.store.bump(em, scope);
      await em.commit();
      expect(await c.store.read(scope)).toBe(1);
      await em.begin();
      await c.store.bump(em, scope);
      await em.rollback();
      expect(await c.store.read(scope)).toBe(1);
    });
  });

  describe('schema', () => {
    it('names both fixes when the token table is missing', async () => {
      const store = c.options.createStore(c.orm, { tableName: `${c.options.prefix}_missing` });
      const error = await rejection(store.read('default'), 'E_SCHEMA');
      expect(error.message).toContain(`"${c.options.prefix}_missing"`);
      expect(error.message).toContain('run migrations');
      expect(error.message).toContain('store.ensureSchema()');
      expect(error.message).toContain(`defineApphookToken({ tableName: '${c.options.prefix}_missing' })`);
      await rejection(
        c.tx((em) => store.bump(em, 'default')),
        'E_SCHEMA',
      );
      await store.close();
    });

    it('creates the table with ensureSchema(), idempotently, as the schema generator would', async () => {
      const tableName = `${c.options.prefix}_ensure`;
      const drop = c.orm.em.getPlatform().quoteIdentifier(tableName);
      await c.orm.em.getConnection().execute(`drop table if exists ${drop}`, [], 'run');
      const store = c.options.createStore(c.orm, { tableName });
      await store.ensureSchema();
      await store.ensureSchema();
      expect(await c.tx((em) => store.bump(em, 'default'))).toBe(1);
      expect(await store.read('default')).toBe(1);
      // An ORM that has the entity finds nothing to migrate in the table ensureSchema() made.
      try {
        const diff = await tableUpdateSQL(
          c.options.createOrm,
          [defineApphookToken({ tableName })],
          tableName,
          {
            dropTables: false,
          },
        );
        expect(diff.trim()).toBe('');
      } finally {
        await store.close();
      }
    });

    it('rejects a table name that is not a plain identifier', () => {
      for (const tableName of ['apphook_token; drop table x', 'a"b', '1abc', '', 'x'.repeat(64)]) {
        expect(() => c.options.createStore(c.orm, { tableName })).toThrow(ApphookOptionError);
      }
    });
  });

  describe('scopes', () => {
    const hostile = ["x'; drop table apphook_token; --", 'a b', 'robert"); --', '', 'x'.repeat(192)];

    it('rejects hostile scopes with E_SCOPE before any SQL runs, and the table survives', async () => {
      for (const scope of hostile) {
        await rejection(c.store.read(scope), 'E_SCOPE');
        await rejection(
          c.tx((em) => c.store.bump(em, scope)),
          'E_SCOPE',
        );
      }
      const scope = c.scope('survivor');
      expect(await c.tx((em) => c.store.bump(em, scope))).toBe(1);
    });

    it('binds the scope as a parameter: a hostile value that skips validation is stored literally', async () => {
      const value = hostile[0]!;
      // bumpRaw is the store's SQL without the scope check: proves the value never becomes SQL.
      const raw = c.store as unknown as { bumpRaw(em: EntityManager, scope: string): Promise<unknown> };
      const quote = (id: string) => c.orm.em.getPlatform().quoteIdentifier(id);
      const table = quote(c.tableName);
      await c.tx(async (em) => {
        expect(Number(await raw.bumpRaw(em, value))).toBe(1);
        const rows = (await sqlEm(em).execute(
          `select ${quote('version')} as v from ${table} where ${quote('scope')} = ?`,
          [value],
        )) as Array<{ v: unknown }>;
        expect(rows.map((r) => Number(r.v))).toEqual([1]);
        await sqlEm(em).execute(`delete from ${table} where ${quote('scope')} = ?`, [value], 'run');
      });
      expect(await c.store.read(c.scope('after-hostile'))).toBe(0);
    });
  });
}
