/**
 * The compliance suite every SQL token store runs against a real database: transactional bumps (G1),
 * after-commit hooks with savepoints (G2), fresh reads (G4), entity watching, clear errors (G11), and a real
 * reloader on top (G3). Each store's test file calls `runStoreSuite` with its own ORM and store factories.
 */
import type { Logger } from '@apphook/core';
import { defineApphookToken, registerAfterCommit } from '@apphook/mikro-orm';
import { type EntityManager, EntitySchema, type MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe } from 'vitest';
import { requireService } from './services.js';
import { storeSuiteBasics } from './store-suite-basics.js';
import type { StoreSuiteOptions, SuiteContext, SuiteNote, SuitePage } from './store-suite-context.js';
import { storeSuiteHooks } from './store-suite-hooks.js';
import { storeSuiteMistakes } from './store-suite-mistakes.js';
import { storeSuiteReloader } from './store-suite-reloader.js';
import { storeSuiteSnapshot } from './store-suite-snapshot.js';

export type { StoreSuiteOptions, SuiteContext, SuiteStore } from './store-suite-context.js';

export async function runStoreSuite(options: StoreSuiteOptions): Promise<void> {
  const available = options.service ? await requireService(options.service) : true;
  const tableName = `${options.prefix}_token`;
  const Page = new EntitySchema<SuitePage>({
    name: 'SuitePage',
    tableName: `${options.prefix}_page`,
    properties: {
      id: { type: 'number', primary: true, autoincrement: true },
      path: { type: 'string', length: 191 },
    },
  });
  const Note = new EntitySchema<SuiteNote>({
    name: 'SuiteNote',
    tableName: `${options.prefix}_note`,
    properties: {
      id: { type: 'number', primary: true, autoincrement: true },
      text: { type: 'string', length: 191 },
    },
  });
  const Token = defineApphookToken({ tableName });
  const entities = [Token, Page, Note] as EntitySchema[];
  let counter = 0;
  const run = `${Date.now().toString(36)}`;
  const context = {
    options,
    Page,
    Note,
    entities,
    tableName,
    hookErrors: [],
    scope: (label: string) => `suite:${run}:${label}:${++counter}`,
    tx<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
      return context.orm.em.fork().transactional(fn);
    },
  } as unknown as SuiteContext;

  describe.skipIf(!available)(`store compliance: ${options.name}`, () => {
    beforeAll(async () => {
      const orm = await options.createOrm(entities);
      // The migration step users run: the schema generator creates the token table from the entity.
      await recreateTables(orm, entities);
      const logger: Logger = {
        warn() {},
        error: (_message, meta) => context.hookErrors.push(meta?.error),
      };
      registerAfterCommit(orm, { logger });
      context.orm = orm;
      context.store = options.createStore(orm, { tableName });
    });

    afterAll(async () => {
      await context.store?.close();
      await context.orm?.close(true);
    });

    storeSuiteBasics(context);
    storeSuiteHooks(context);
    storeSuiteReloader(context);
    storeSuiteSnapshot(context);
    storeSuiteMistakes(context);
  });
}

/**
 * Drops these entities' tables, then lets the schema generator create them (`orm.schema.create()`, MikroORM 6:
 * `createSchema()`), which only reads the ORM's metadata. Not `orm.schema.drop()`: that introspects every table
 * in the database, and test files run side by side in one database, creating and dropping their own tables; a
 * table listed, then dropped by another file before its columns are read, fails inside MikroORM ('Cannot read
 * properties of undefined (reading reduce)' in DatabaseTable.init, seen in CI).
 */
export async function recreateTables(orm: MikroORM, entities: EntitySchema[]): Promise<void> {
  const platform = orm.em.getPlatform();
  const connection = orm.em.getConnection();
  for (const entity of [...entities].reverse()) {
    const table = entity.meta.tableName ?? entity.meta.collection;
    await connection.execute(`drop table if exists ${platform.quoteIdentifier(table)}`);
  }
  const schema = orm.schema as unknown as Record<string, (() => Promise<void>) | undefined>;
  await (schema.create ?? schema.createSchema)!.call(schema);
}
