/**
 * Where MikroORM 6 (SQL layer `@mikro-orm/knex`) and MikroORM 7 (`@mikro-orm/sql`, kysely) differ in what
 * apphook relies on, handled here so that user code and the rest of the package see one API. Detection is by
 * shape, never by version string: a knex transaction is a function with `isTransaction` and
 * `executionPromise`. What each function papers over is measured in docs/mikro-orm-versions.md.
 */
import type { MikroORM } from '@mikro-orm/core';

/** What a savepoint became: released into its parent, or rolled back. */
export type SavepointOutcome = 'released' | 'rolledBack';

/** A MikroORM 6 savepoint: its parent transaction and how it ended. */
export interface UntrackedSavepoint {
  parent: object;
  outcome: Promise<SavepointOutcome>;
}

/** The parts of a knex transactor (MikroORM 6's transaction context) used here. */
interface KnexTransactor {
  (...args: unknown[]): unknown;
  isTransaction: true;
  savepointName?: string;
  parentTransaction?: object;
  executionPromise?: Promise<unknown>;
  commit(value?: unknown): unknown;
  rollback(error?: unknown): unknown;
}

function isKnexTransactor(value: unknown): value is KnexTransactor {
  return typeof value === 'function' && (value as { isTransaction?: unknown }).isTransaction === true;
}

const outcomes = new WeakMap<object, Promise<SavepointOutcome>>();

/**
 * A MikroORM 6 savepoint, which MikroORM 6 announces with no transaction event (MikroORM 7 dispatches
 * `afterTransactionStart/Commit/Rollback` with `transaction.savepointName`); `undefined` for anything else.
 * knex settles `executionPromise` the same way for a release and for a rollback without an error (MikroORM's
 * case), so the transactor's own `commit` / `rollback` are wrapped to record which one ran. Call it before the
 * savepoint ends (from inside it); later calls return the same outcome.
 */
export function untrackedSavepoint(transaction: unknown): UntrackedSavepoint | undefined {
  if (!isKnexTransactor(transaction) || typeof transaction.savepointName !== 'string') return undefined;
  const parent = transaction.parentTransaction;
  const settled = transaction.executionPromise;
  if (!parent || !settled) return undefined;
  let outcome = outcomes.get(transaction);
  if (!outcome) {
    let chosen: SavepointOutcome = 'rolledBack';
    const commit = transaction.commit;
    const rollback = transaction.rollback;
    transaction.commit = (value?: unknown) => {
      chosen = 'released';
      return commit(value);
    };
    transaction.rollback = (error?: unknown) => {
      chosen = 'rolledBack';
      return rollback(error);
    };
    // A failed RELEASE rejects: the savepoint's work is then not part of the parent.
    outcome = settled.then(
      () => chosen,
      () => 'rolledBack' as const,
    );
    outcomes.set(transaction, outcome);
  }
  return { parent, outcome };
}

/** The parts of a knex client (MikroORM 6) used to reach the SQLite driver's own connection. */
interface KnexClientLike {
  pool?: { numUsed(): number; numPendingAcquires(): number };
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown> | unknown;
}

/**
 * The database driver's own connection object behind the ORM's write connection (for SQLite: the
 * better-sqlite3 or libsql `Database`), or `undefined` when it cannot be had without waiting.
 * MikroORM 7: `connection.getNativeClient()`. MikroORM 6: the one pooled knex connection, taken only while the
 * pool is idle, since waiting for it inside a caller's transaction would deadlock on SQLite's single
 * connection; the caller tries again later.
 */
export async function nativeDriverConnection(orm: MikroORM): Promise<unknown> {
  const connection = orm.em.getConnection('write') as unknown as {
    getNativeClient?: () => Promise<unknown>;
    getKnex?: () => { client: KnexClientLike };
  };
  if (typeof connection.getNativeClient === 'function') return connection.getNativeClient();
  if (typeof connection.getKnex !== 'function') return undefined;
  const client = connection.getKnex().client;
  const pool = client.pool;
  if (pool && (pool.numUsed() > 0 || pool.numPendingAcquires() > 0)) return undefined;
  const raw = await client.acquireConnection();
  await client.releaseConnection(raw);
  return raw;
}

/**
 * The settings of the ORM's own connection as the driver takes them (for Postgres: host, port, user,
 * password, database, ssl): MikroORM 6 and 7 both expose `getConnectionOptions()` on the SQL connection; 6
 * adds the pg `types` parser set of the ORM, harmless to a LISTEN client.
 */
export function driverConnectionOptions(orm: MikroORM): Record<string, unknown> {
  const connection = orm.em.getConnection() as unknown as {
    getConnectionOptions?: () => Record<string, unknown>;
  };
  return typeof connection.getConnectionOptions === 'function' ? connection.getConnectionOptions() : {};
}

/**
 * The SQL layer the ORM runs on: `'knex'` for MikroORM 6 (`@mikro-orm/knex`), `'sql'` for MikroORM 7
 * (`@mikro-orm/sql`, kysely), told apart by the connection's `getKnex`.
 */
export function sqlLayer(orm: MikroORM): 'knex' | 'sql' {
  const connection = orm.em.getConnection() as unknown as { getKnex?: unknown };
  return typeof connection.getKnex === 'function' ? 'knex' : 'sql';
}

/** The class name of the ORM's driver, e.g. `'BetterSqliteDriver'`, `'LibSqlDriver'`, `'PostgreSqlDriver'`. */
export function driverName(orm: MikroORM): string {
  return orm.em.getDriver().constructor.name;
}
