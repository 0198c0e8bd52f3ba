import { dirname, resolve } from 'node:path';
import { ApphookError, ApphookOptionError } from '@apphook/core';
import {
  nativeDriverConnection,
  type SqlExecutor,
  SqlTokenStore,
  type SqlTokenStoreOptions,
} from '@apphook/mikro-orm';
import type { EntityManager, MikroORM, TransactionOptions } from '@mikro-orm/core';
import { assertSqliteDriver } from './driver-check.js';
import { SnapshotOrm } from './snapshot-orm.js';

export interface SqliteStoreOptions extends SqlTokenStoreOptions {
  /**
   * Switch the database file to `journal_mode = WAL` at the first read or `ensureSchema()`, so readers in other
   * processes never wait for a writer. WAL is a property of the file and stays on. Ignored for `:memory:`.
   * @default true
   */
  wal?: boolean;
  /**
   * How long a connection waits for another one's write lock before failing with SQLITE_BUSY, set on the ORM's
   * connection and on the store's read connection.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

export interface SqliteStoreStats {
  /** Reads that queried the token table. */
  queries: number;
  /** Reads answered from the cache because `PRAGMA data_version` showed no commit since the last query. */
  skipped: number;
}

/** The parts of a better-sqlite3 `Database` the store uses. */
interface SqliteHandle {
  readonly name: string;
  readonly memory: boolean;
  readonly open: boolean;
  readonly inTransaction: boolean;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  prepare(source: string): { get(...params: unknown[]): unknown };
  close(): unknown;
}

type SqliteHandleConstructor = new (
  filename: string,
  options?: { fileMustExist?: boolean; timeout?: number },
) => SqliteHandle;

function isSqliteHandle(value: unknown): value is SqliteHandle {
  const v = value as Partial<SqliteHandle> | null;
  return (
    !!v &&
    typeof v === 'object' &&
    typeof v.pragma === 'function' &&
    typeof v.prepare === 'function' &&
    typeof v.name === 'string' &&
    typeof v.memory === 'boolean'
  );
}

const FAMILY = { name: 'apphook/sqlite', platforms: ['Sqlite'], factory: 'sqliteStore(orm)' } as const;

/**
 * The SQLite token store. Reads go through one extra read connection to the same file that the store opens
 * and closes itself: in WAL mode it never waits for a writer, never sees an open transaction's bump (G4), and
 * `PRAGMA data_version` on it changes after every commit of any other connection, this process's ORM
 * included, so a poll that finds it unchanged skips the query. For `:memory:` databases (one connection)
 * reads use the ORM's connection and are never skipped.
 */
export class SqliteStore extends SqlTokenStore {
  private readonly wal: boolean;
  private readonly busyTimeoutMs: number;
  private setup: Promise<void> | undefined;
  /** WAL and the read connection are in place (or not applicable). */
  private ready = false;
  private reader: SqliteHandle | undefined;
  private readStatement: { get(...params: unknown[]): unknown } | undefined;
  private dataVersion: unknown;
  private readonly cache = new Map<string, unknown>();
  private readonly counters: SqliteStoreStats = { queries: 0, skipped: 0 };
  private closed = false;
  private readonly snapshots: SnapshotOrm;

  constructor(orm: MikroORM, options: SqliteStoreOptions = {}) {
    super(FAMILY, orm, options);
    assertSqliteDriver(orm, FAMILY.name);
    if (options.wal !== undefined && typeof options.wal !== 'boolean') {
      throw new ApphookOptionError(`[${FAMILY.name}] wal must be true or false, got ${String(options.wal)}`);
    }
    const busy = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(busy) || busy < 0 || busy > 2_147_483_647) {
      throw new ApphookOptionError(
        `[${FAMILY.name}] busyTimeoutMs must be a non-negative integer number of milliseconds, got ${String(options.busyTimeoutMs)}`,
      );
    }
    this.wal = options.wal ?? true;
    this.busyTimeoutMs = busy;
    this.snapshots = new SnapshotOrm(orm);
  }

  /** How many reads queried the table and how many `PRAGMA data_version` let skip. */
  stats(): SqliteStoreStats {
    return { ...this.counters };
  }

  override async ensureSchema(): Promise<void> {
    try {
      await this.prepare();
    } catch (error) {
      throw this.translate(error, `creating the token table "${this.tableName}"`);
    }
    await super.ensureSchema();
  }

  /** better-sqlite3 creates a missing file, never its folder, and its message names neither (G11). */
  protected override translate(error: unknown, doing: string): unknown {
    const message = error instanceof Error ? error.message : '';
    const dbName = this.orm.config.get('dbName');
    if (/directory does not exist/i.test(message) && typeof dbName === 'string') {
      const file = resolve(dbName);
      return new ApphookError(
        'E_CONNECTION',
        `[${FAMILY.name}] ${doing} failed: cannot open the database file "${file}": its folder "${dirname(file)}" does not exist; create it (mkdir -p) before the first query, or fix dbName in your MikroORM config`,
        { cause: error },
      );
    }
    return super.translate(error, doing);
  }

  override async close(): Promise<void> {
    this.closed = true;
    await super.close(); // snapshot functions still running may read through the read connection
    await this.snapshots.close();
    const reader = this.reader;
    this.reader = undefined;
    this.readStatement = undefined;
    this.cache.clear();
    if (reader?.open) reader.close();
  }

  /** A deferred BEGIN: the version read that follows pins the WAL snapshot every later read sees (G4). */
  protected override snapshotBegin(): TransactionOptions {
    return {};
  }

  /**
   * For a database file, a fork of the store's own read ORM (one more connection to the file, opened on the
   * first snapshot): a read transaction on the ORM's single connection would queue behind, or deadlock under,
   * a caller's open write transaction. `:memory:` has only the ORM's connection, so snapshots take turns with
   * its transactions there.
   */
  protected override async snapshotEntityManager(): Promise<EntityManager> {
    await this.prepare();
    if (!this.reader) return super.snapshotEntityManager();
    return (await this.snapshots.get()).em.fork({
      clear: true,
      disableContextResolution: true,
      disableTransactions: false,
    });
  }

  protected override async readRaw(scope: string): Promise<unknown> {
    await this.prepare();
    const reader = this.reader;
    if (!reader) {
      this.counters.queries++;
      return super.readRaw(scope);
    }
    // data_version changes only when another connection committed; the ORM's own connection is another
    // connection to this handle, so every commit of this process counts too.
    const dataVersion = reader.pragma('data_version', { simple: true });
    if (dataVersion === this.dataVersion && this.cache.has(scope)) {
      this.counters.skipped++;
      return this.cache.get(scope);
    }
    if (dataVersion !== this.dataVersion) {
      this.cache.clear();
      this.dataVersion = dataVersion;
    }
    this.counters.queries++;
    this.readStatement ??= reader.prepare(
      `select ${this.quote('version')} from ${this.table} where ${this.quote('scope')} = ?`,
    );
    const row = this.readStatement.get(scope) as Record<string, unknown> | undefined;
    const version = row?.version ?? 0;
    this.cache.set(scope, version);
    return version;
  }

  protected async bumpRaw(em: SqlExecutor, scope: string): Promise<unknown> {
    const t = this.table;
    const version = this.quote('version');
    const updatedAt = this.quote('updated_at');
    const rows = await em.execute(
      `insert into ${t} (${this.quote('scope')}, ${version}, ${updatedAt}) values (?, 1, current_timestamp) ` +
        `on conflict (${this.quote('scope')}) do update set ${version} = ${t}.${version} + 1, ${updatedAt} = current_timestamp ` +
        `returning ${version}`,
      [scope],
      'all',
    );
    return this.firstVersion(rows);
  }

  protected createTableStatements(): string[] {
    const q = (id: string) => this.quote(id);
    return [
      `create table if not exists ${this.table} (${q('scope')} text not null primary key, ${q('version')} bigint not null, ${q('updated_at')} datetime not null default current_timestamp)`,
    ];
  }

  /** WAL and busy timeout on the ORM's connection, then the read connection; retried until it succeeds. */
  private async prepare(): Promise<void> {
    if (this.ready || this.closed) return;
    this.setup ??= this.connect().finally(() => {
      this.setup = undefined;
    });
    await this.setup;
  }

  private async connect(): Promise<void> {
    const native = await nativeDriverConnection(this.orm);
    // MikroORM 6 while its one connection is in a transaction: reads go through the ORM until it is free.
    if (native === undefined) return;
    if (!isSqliteHandle(native)) {
      // Another SQLite driver (libSQL, node:sqlite): reads go through the ORM, without the data_version skip.
      this.ready = true;
      return;
    }
    native.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    if (native.memory || native.name === '' || native.name === ':memory:') {
      this.ready = true;
      return;
    }
    // Opened even before WAL is on: a read through the ORM's single connection would wait for (or, called
    // inside it, deadlock on) an open transaction.
    if (!this.reader) {
      const Handle = native.constructor as SqliteHandleConstructor;
      this.reader = new Handle(native.name, { fileMustExist: true, timeout: this.busyTimeoutMs });
    }
    if (!this.wal) {
      this.ready = true;
      return;
    }
    // journal_mode cannot change inside a transaction: then a later read tries again.
    if (native.inTransaction) return;
    native.pragma('journal_mode = WAL');
    this.ready = true;
  }
}

/**
 * The SQLite token store for `orm` (a MikroORM instance from `@mikro-orm/sqlite`). Several processes can share
 * one database file: WAL and a busy timeout let them write in turn, and polls skip the read when nothing was
 * committed. There is no native push: use mode 'interval' or a notifier.
 */
export function sqliteStore(orm: MikroORM, options?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(orm, options);
}
