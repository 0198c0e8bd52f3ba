import { ApphookError, type Logger, type StoreSnapshot, type TokenStore } from '@apphook/core';
import type { EntityManager, EntitySchema, MikroORM } from '@mikro-orm/core';
import type { services } from './services.js';

/** What the suite needs of a store: a `TokenStore` of MikroORM EntityManagers with `ensureSchema()`. */
export interface SuiteStore extends TokenStore<EntityManager> {
  readonly tableName: string;
  ensureSchema(): Promise<void>;
  close(): Promise<void>;
  /** Every SQL store has it (G4 exact builds). */
  readSnapshot<T>(
    scope: string,
    fn: (snapshot: StoreSnapshot<EntityManager>) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T>;
}

export interface StoreSuiteOptions {
  /** Shown in the describe block, e.g. `'postgresql'`. */
  name: string;
  /** The server the suite needs; left out for SQLite. Unreachable: skipped locally, a failure with CI=true. */
  service?: keyof typeof services;
  /** Prefix of every table the suite creates, unique to the calling test file, e.g. `'ahs_pg'`. */
  prefix: string;
  /** A new MikroORM instance (its own connections) on the test database with exactly these entities. */
  createOrm(entities: EntitySchema[]): Promise<MikroORM>;
  /** The store under test. */
  createStore(orm: MikroORM, options: { tableName: string; logger?: Logger }): SuiteStore;
  /**
   * Concurrent writers in the lost-update test, each running 50 transactions; the ORM's pool must have that
   * many connections.
   * @default 8
   */
  writers?: number;
}

export interface SuitePage {
  id: number;
  path: string;
}

export interface SuiteNote {
  id: number;
  text: string;
}

/** Shared by the suite's parts; filled in `beforeAll`. */
export interface SuiteContext {
  options: StoreSuiteOptions;
  orm: MikroORM;
  store: SuiteStore;
  Page: EntitySchema<SuitePage>;
  Note: EntitySchema<SuiteNote>;
  entities: EntitySchema[];
  tableName: string;
  /** Errors the after-commit subscriber reported (failing hooks). */
  hookErrors: unknown[];
  /** A scope nobody used before in this run. */
  scope(label: string): string;
  /** `orm.em.fork().transactional(fn)`. */
  tx<T>(fn: (em: EntityManager) => Promise<T>): Promise<T>;
}

/** Asserts `promise` rejects with an `ApphookError` of `code` and returns it. */
export async function rejection(promise: Promise<unknown>, code: string): Promise<ApphookError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApphookError && error.code === code) return error;
    throw new Error(`expected an ApphookError with code ${code}, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected an ApphookError with code ${code}, but the promise resolved`);
}

/**
 * The schema generator's update SQL for one table only, from a fresh ORM with `entities`. Test files run side by
 * side in the same database, creating and dropping their own tables: introspecting all of them races (a table
 * listed, then dropped before its columns are read, fails inside MikroORM), so every other table is skipped.
 */
export async function tableUpdateSQL(
  createOrm: StoreSuiteOptions['createOrm'],
  entities: EntitySchema[],
  tableName: string,
  options: { dropTables?: boolean } = {},
): Promise<string> {
  const orm = await createOrm(entities);
  try {
    // In place: MikroORM 6 made its schema generator at init, holding this object (7 makes it on first use).
    orm.config.get('schemaGenerator').skipTables = [new RegExp(`^(?!${tableName}$)`, 'i')];
    return await orm.schema.getUpdateSchemaSQL({ wrap: false, ...options });
  } finally {
    await orm.close(true);
  }
}
