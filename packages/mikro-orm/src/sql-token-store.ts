import {
  type AfterCommitHook,
  type AfterCommitOptions,
  ApphookError,
  ApphookOptionError,
  assertScope,
  attempt,
  createLogger,
  type Logger,
  raceTimeout,
  type StoreSnapshot,
  type TokenStore,
  type Version,
} from '@apphook/core';
import { type EntityManager, IsolationLevel, type MikroORM, type TransactionOptions } from '@mikro-orm/core';
import { afterCommit, isTransactionMarked, markTransaction, registerAfterCommit } from './after-commit.js';
import { bumpedMark, watchedMark } from './commit-queues.js';
import { runInSnapshot } from './read-snapshot.js';
import { describeError, isConnectionError, isMissingTableError, isRetryableError } from './sql-errors.js';
import { assertTableName, DEFAULT_TABLE_NAME } from './table-name.js';
import { tokenEntityName, warnIfTokenEntityMissing } from './token-registration.js';

export interface SqlTokenStoreOptions {
  /**
   * The token table. Must be a plain identifier; with a custom name, add `defineApphookToken({ tableName })` to
   * your entities instead of `ApphookToken`.
   * @default 'apphook_token'
   */
  tableName?: string;
  /**
   * Where failing after-commit hooks are reported (the first store or `registerAfterCommit` on an ORM decides).
   * @default console (warn and error only)
   */
  logger?: Logger | false;
}

/**
 * How long `close()` waits for reads and snapshot functions still running (the default `rebuildTimeoutMs`): a
 * rebuild aborted by `reloader.stop()` that ignores its signal still runs queries on the ORM.
 */
const CLOSE_WAIT_MS = 30_000;

/** What the stores need of an EntityManager: MikroORM's SQL `EntityManager` has it. */
export interface SqlExecutor {
  execute(sql: string, params?: unknown[], method?: 'all' | 'get' | 'run'): Promise<unknown>;
  isInTransaction(): boolean;
  transactional<T>(cb: (em: EntityManager) => Promise<T>): Promise<T>;
}

/** The database family a store is written for, checked against the ORM's platform class names. */
export interface SqlFamily {
  /** Package name used in messages, e.g. `'apphook/postgresql'`. */
  name: string;
  /** Words one of which a platform class name in the prototype chain must contain, e.g. `['PostgreSql']`. */
  platforms: readonly string[];
  /** The factory, for messages: `'postgresStore(orm)'`. */
  factory: string;
}

function platformNames(orm: MikroORM): string[] {
  const names: string[] = [];
  let proto: unknown = Object.getPrototypeOf(orm.em.getPlatform());
  while (proto && proto !== Object.prototype) {
    const ctor = (proto as { constructor?: { name?: string } }).constructor;
    if (ctor?.name) names.push(ctor.name);
    proto = Object.getPrototypeOf(proto);
  }
  return names;
}

/**
 * The SQL token store every database package extends: validation, error translation, after-commit hooks and
 * the shared read. Subclasses only say how to bump and how to create the table.
 */
export abstract class SqlTokenStore implements TokenStore<EntityManager> {
  readonly name: string;
  /** The token table this store reads and bumps. */
  readonly tableName: string;
  protected readonly orm: MikroORM;
  /**
   * Set when no entity of the ORM maps to the token table (also logged as a warning at creation): schema
   * updates and migrations would drop the table.
   */
  readonly entityWarning: ApphookError | undefined;
  /** The table name quoted for this platform, qualified with the ORM's schema when one is configured. */
  protected readonly table: string;
  /** Where the store logs problems it cannot report to a caller (`options.logger`). */
  protected readonly logger: Logger;
  /** Reads, snapshots and snapshot functions of this store that have not settled yet (see `track`). */
  private readonly running = new Set<Promise<void>>();

  protected constructor(family: SqlFamily, orm: MikroORM, options: SqlTokenStoreOptions | undefined) {
    this.name = family.name;
    if (!orm || typeof orm !== 'object' || !orm.em || typeof orm.em.getConnection !== 'function') {
      throw new ApphookOptionError(
        `[${family.name}] ${family.factory} needs your MikroORM instance (the one MikroORM.init() returned)`,
      );
    }
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new ApphookOptionError(`[${family.name}] options must be an object such as { tableName }`);
    }
    const names = platformNames(orm);
    if (!names.some((n) => family.platforms.some((p) => n.includes(p)))) {
      throw new ApphookOptionError(
        `[${family.name}] ${family.factory} got a MikroORM instance for ${names[0] ?? 'an unknown platform'}; use the store of that database (postgresStore, mysqlStore or sqliteStore)`,
      );
    }
    const tableName = options?.tableName ?? DEFAULT_TABLE_NAME;
    assertTableName(tableName, family.name);
    this.orm = orm;
    this.tableName = tableName;
    this.logger = createLogger(options?.logger);
    // The entity lands in the ORM's configured schema (Postgres `schema` option): so must every statement.
    const schema = orm.config.getSchema(true);
    const platform = orm.em.getPlatform();
    this.table = schema
      ? `${platform.quoteIdentifier(schema)}.${platform.quoteIdentifier(tableName)}`
      : platform.quoteIdentifier(tableName);
    // Before any transaction the user starts with this ORM: transactional() copies subscribers at its start.
    registerAfterCommit(orm, { logger: options?.logger });
    this.entityWarning = warnIfTokenEntityMissing(orm, tableName, family.name, options?.logger);
  }

  async read(scope: string): Promise<Version> {
    assertScope(scope, this.name);
    try {
      return this.toVersion(await this.track(this.readRaw(scope)), scope);
    } catch (error) {
      throw this.translate(error, `reading the version of scope '${scope}'`);
    }
  }

  async bump(em: EntityManager, scope: string): Promise<Version> {
    assertScope(scope, this.name);
    const executor = this.executor(em);
    let version: Version;
    try {
      // watchEntities bumped this scope in this transaction already: a markChanged for the same edit adds
      // nothing and returns that version (one bump per scope and transaction).
      const watched = executor.isInTransaction() && isTransactionMarked(em, watchedMark(scope));
      const raw = watched ? await this.readIn(executor, scope) : await this.bumpRaw(executor, scope);
      version = this.toVersion(raw, scope);
    } catch (error) {
      throw this.translate(error, `bumping scope '${scope}'`);
    }
    // watchEntities skips a scope this transaction already bumped: one bump per scope and transaction.
    if (executor.isInTransaction()) markTransaction(em, bumpedMark(scope));
    return version;
  }

  /**
   * Exact builds (G4): runs `fn` with the scope's version and a forked EntityManager that both read one
   * read-only snapshot, then rolls the snapshot back (also when `fn` throws or `signal` aborts). Errors of
   * `fn` pass through unchanged; failures to open the snapshot or read the version are translated like
   * `read()`'s.
   */
  async readSnapshot<T>(
    scope: string,
    fn: (snapshot: StoreSnapshot<EntityManager>) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    assertScope(scope, this.name);
    if (typeof fn !== 'function') {
      throw new ApphookOptionError(
        `[${this.name}] readSnapshot(scope, fn): fn must be a function that reads the rows with snapshot.em`,
      );
    }
    const doing = `opening a read snapshot for scope '${scope}'`;
    let em: EntityManager;
    try {
      em = await this.snapshotEntityManager();
    } catch (error) {
      throw this.translate(error, doing);
    }
    return this.track(
      runInSnapshot({
        em,
        begin: this.snapshotBegin(),
        readVersion: async (snapshotEm) =>
          this.toVersion(
            this.firstVersion(
              await (snapshotEm as unknown as SqlExecutor).execute(
                `select ${this.quote('version')} from ${this.table} where ${this.quote('scope')} = ?`,
                [scope],
              ),
            ),
            scope,
          ),
        storeError: (error) => this.translate(error, doing),
        // Tracked apart: an abort rejects readSnapshot once the snapshot ended, while fn may go on.
        fn: (snapshot) => this.track(attempt(() => fn(snapshot))),
        signal,
      }),
    );
  }

  /**
   * Remembers `work` (a store read, a snapshot, a snapshot's `fn`) until it settles, for `close()`. The
   * reloader does not wait for them when it stops: a poll's read, or a rebuild that `stop()` aborted but that
   * goes on until it notices its signal, may still be waiting for a new connection of the ORM's pool. On
   * MikroORM 7 (kysely 0.29) a connection that arrives after `orm.close()` began is never released, and
   * `orm.close()` then waits for it forever.
   */
  private track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return work;
  }

  afterCommit(em: EntityManager, hook: AfterCommitHook, options?: AfterCommitOptions): void {
    afterCommit(em, hook, options);
  }

  /**
   * Creates the token table if it does not exist: a quick start without migrations. The DDL is the one the
   * schema generator makes from `ApphookToken`, so a later migration finds nothing to change.
   */
  async ensureSchema(): Promise<void> {
    const connection = this.orm.em.getConnection('write');
    try {
      for (const sql of this.createTableStatements()) await connection.execute(sql, [], 'run');
    } catch (error) {
      throw this.translate(error, `creating the token table "${this.tableName}"`);
    }
  }

  /**
   * Waits for this store's reads and `readSnapshot` functions still running (a poll's read, a rebuild that
   * `reloader.stop()` aborted but that still queries), up to 30 s, so the ORM can be closed next. Subclasses
   * close their own connections after it.
   */
  async close(): Promise<void> {
    if (this.running.size === 0) return;
    try {
      await raceTimeout(this.drained(), CLOSE_WAIT_MS, 'store.close() waited for queries still running');
    } catch {
      this.logger.warn(
        `[${this.name}] close(): ${this.running.size} read(s) or readSnapshot function(s) (rebuildRoutes) still running ${CLOSE_WAIT_MS} ms after the store was closed; make rebuildRoutes stop when its signal aborts, or read through the snapshot's em, before you close the ORM`,
      );
    }
  }

  /** Resolves once nothing tracked runs; a snapshot's fn is tracked on its own, so it loops. */
  private async drained(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /**
   * The committed version on a fresh snapshot. Runs on the ORM's write connection pool with no transaction
   * context: never inside the caller's transaction, never on a read replica, never in a snapshot opened earlier
   * (G4).
   */
  protected async readRaw(scope: string): Promise<unknown> {
    const rows = await this.orm.em
      .getConnection('write')
      .execute(`select ${this.quote('version')} from ${this.table} where ${this.quote('scope')} = ?`, [
        scope,
      ]);
    return this.firstVersion(rows);
  }

  /** The version as the transaction of `em` sees it, its own bumps included. */
  private async readIn(em: SqlExecutor, scope: string): Promise<unknown> {
    return this.firstVersion(
      await em.execute(
        `select ${this.quote('version')} from ${this.table} where ${this.quote('scope')} = ?`,
        [scope],
      ),
    );
  }

  /** How a read snapshot begins: REPEATABLE READ, read only (PostgreSQL and MySQL/MariaDB). */
  protected snapshotBegin(): TransactionOptions {
    return { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true };
  }

  /**
   * The EntityManager a snapshot runs on: a fork of the ORM's own, with an empty identity map, outside any
   * request context, with transactions on whatever the ORM's config says (a snapshot needs one).
   */
  protected async snapshotEntityManager(): Promise<EntityManager> {
    return this.orm.em.fork({ clear: true, disableContextResolution: true, disableTransactions: false });
  }

  /** Increments `scope` in the transaction `em` is in (or alone when it is in none) and returns the new version. */
  protected abstract bumpRaw(em: SqlExecutor, scope: string): Promise<unknown>;

  /** `create table if not exists` statements matching the schema generator's DDL for `ApphookToken`. */
  protected abstract createTableStatements(): string[];

  protected quote(identifier: string): string {
    return this.orm.em.getPlatform().quoteIdentifier(identifier);
  }

  /** The `version` column of the first row of a raw `em.execute` result. */
  protected firstVersion(rows: unknown): unknown {
    if (!Array.isArray(rows)) return undefined;
    return (rows[0] as Record<string, unknown> | undefined)?.version;
  }

  private executor(em: EntityManager): SqlExecutor {
    const candidate = em as unknown as Partial<SqlExecutor> | undefined;
    if (
      !candidate ||
      typeof candidate.execute !== 'function' ||
      typeof candidate.isInTransaction !== 'function'
    ) {
      throw new ApphookOptionError(
        `[${this.name}] bump needs the EntityManager of the transaction, e.g. the \`em\` that orm.em.transactional(async (em) => ...) passes; got ${em === null ? 'null' : typeof em}`,
      );
    }
    return candidate as SqlExecutor;
  }

  private toVersion(raw: unknown, scope: string): Version {
    if (raw === undefined || raw === null) return 0;
    const version = typeof raw === 'string' || typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
      throw new ApphookError(
        'E_STORE',
        `[${this.name}] the token table "${this.tableName}" holds ${String(raw)} as the version of '${scope}'; a version is a non-negative safe integer`,
      );
    }
    return version;
  }

  protected translate(error: unknown, doing: string): unknown {
    if (error instanceof ApphookError) return error;
    // Thrown as MikroORM threw it, class and driver code intact, so the caller's retry wrapper fires (G11).
    if (isRetryableError(error)) return error;
    if (isMissingTableError(error)) {
      const entity = tokenEntityName(this.tableName);
      return new ApphookError(
        'E_SCHEMA',
        `[${this.name}] token table "${this.tableName}" is missing: add ${entity} to your entities and run migrations (or orm.schema.update()), or call store.ensureSchema()`,
        { cause: error },
      );
    }
    if (isConnectionError(error)) {
      return new ApphookError(
        'E_CONNECTION',
        `[${this.name}] ${doing} failed: ${describeError(error)}; check that the database server is running and reachable with the ORM's connection settings`,
        { cause: error },
      );
    }
    return new ApphookError('E_STORE', `[${this.name}] ${doing} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}
