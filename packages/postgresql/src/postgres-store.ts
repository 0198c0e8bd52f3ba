import {
  ApphookError,
  ApphookOptionError,
  describeValue,
  type HintListener,
  type Subscription,
  type Version,
} from '@apphook/core';
import {
  afterCommit,
  beforeCommit,
  driverConnectionOptions,
  type SqlExecutor,
  SqlTokenStore,
  type SqlTokenStoreOptions,
} from '@apphook/mikro-orm';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type pg from 'pg';
import { ListenConnection, type ListenStats } from './listen-connection.js';
import { NotifyCoalescing, type NotifyStats, type NotifyTicket } from './notify-coalescing.js';

export interface PostgresStoreOptions extends SqlTokenStoreOptions {
  /**
   * The NOTIFY channel. A transaction that bumped a scope runs `pg_notify(channel, '{"scope":…,"version":…}')`
   * once, just before it commits, with the version it ends on, so Postgres delivers it only if and when that
   * transaction commits, once per root transaction and scope (G2). `false` sends nothing.
   * @default 'apphook'
   */
  channel?: string | false;
  /**
   * NOTIFY coalescing: in a burst of commits, a scope gets at most one NOTIFY per this many milliseconds from
   * this store. A commit with no NOTIFY of its scope in the last window notifies inside its transaction, as
   * without coalescing; a commit inside the window is announced by one `pg_notify` sent after it commits, at
   * the end of the window, so other processes may learn of it up to this much later. Every NOTIFY wakes every
   * listening process, and a hint carries no data (they read the store), so one stands for the whole window.
   * `0` sends one NOTIFY per root transaction and scope, inside it. Rules: src/notify-coalescing.ts.
   * Keep it well below the listening reloaders' `stormQuietMs` (50 ms): hints that come that far apart no
   * longer make a storm there, and every one of them gets its own rebuild.
   * @default 10
   */
  minNotifyIntervalMs?: number;
  /**
   * Where the one LISTEN connection of this store connects. Give a direct (or session-mode pooler) address when
   * the ORM goes through PgBouncer in transaction mode, which cannot carry LISTEN.
   * @default the ORM's own connection settings
   */
  listenConnection?: pg.ClientConfig;
  /**
   * Tuning of the LISTEN connection: heartbeat, self-test and reconnect timing.
   * @default { heartbeatMs: 15000, selfTestTimeoutMs: 3000, reconnectBaseMs: 250, reconnectMaxMs: 10000 }
   */
  listen?: {
    heartbeatMs?: number;
    selfTestTimeoutMs?: number;
    reconnectBaseMs?: number;
    reconnectMaxMs?: number;
  };
}

/** The default NOTIFY channel. */
export const DEFAULT_CHANNEL = 'apphook';

/** The default of `minNotifyIntervalMs`. */
export const DEFAULT_MIN_NOTIFY_INTERVAL_MS = 10;
const MAX_DELAY = 2_147_483_647; // setTimeout's limit

// LISTEN takes an identifier; keep channel names that need no quoting anywhere (and fit in 63 bytes).
const CHANNEL_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const FAMILY = {
  name: 'apphook/postgresql',
  platforms: ['PostgreSql'],
  factory: 'postgresStore(orm)',
} as const;

/**
 * The PostgreSQL token store: one `INSERT … ON CONFLICT … DO UPDATE … RETURNING` per bump, and one NOTIFY per
 * root transaction and scope, issued inside that transaction just before it commits (in the bump's own
 * statement when the bump runs in no transaction); in a burst of commits, at most one per scope and
 * `minNotifyIntervalMs`, the later ones sent after their commits (src/notify-coalescing.ts).
 */
export class PostgresStore extends SqlTokenStore {
  /** The NOTIFY channel bumps send on, `undefined` when disabled. */
  readonly channel: string | undefined;
  private readonly options: PostgresStoreOptions;
  private listener: ListenConnection | undefined;
  private readonly coalescing: NotifyCoalescing;

  constructor(orm: MikroORM, options: PostgresStoreOptions = {}) {
    super(FAMILY, orm, options);
    this.options = options;
    const channel = options.channel ?? DEFAULT_CHANNEL;
    if (channel !== false && (typeof channel !== 'string' || !CHANNEL_PATTERN.test(channel))) {
      throw new ApphookOptionError(
        `[${FAMILY.name}] channel must be false or a plain identifier of 1 to 63 characters from [A-Za-z0-9_], such as 'apphook', got ${JSON.stringify(channel)}`,
      );
    }
    this.channel = channel === false ? undefined : channel;
    const minNotifyIntervalMs = options.minNotifyIntervalMs ?? DEFAULT_MIN_NOTIFY_INTERVAL_MS;
    if (
      typeof minNotifyIntervalMs !== 'number' ||
      !Number.isFinite(minNotifyIntervalMs) ||
      minNotifyIntervalMs < 0 ||
      minNotifyIntervalMs > MAX_DELAY
    ) {
      throw new ApphookOptionError(
        `[${FAMILY.name}] minNotifyIntervalMs must be a non-negative number of milliseconds up to ${MAX_DELAY} (0 sends one NOTIFY per transaction), got ${describeValue(minNotifyIntervalMs)}`,
      );
    }
    this.coalescing = new NotifyCoalescing(
      minNotifyIntervalMs,
      (scope) => this.notifyAfterCommit(scope),
      this.logger,
      `channel "${this.channel}", table "${this.tableName}"`,
    );
    // Without a channel there is no native push: hide subscribe so reloaders default to polling.
    if (!this.channel) Object.defineProperty(this, 'subscribe', { value: undefined });
  }

  /**
   * Native push: hints for `scope` from the store's one LISTEN connection, opened on the first subscription and
   * closed with the last (or by `close()`). Resolves once LISTEN is active, so a read made afterwards cannot miss
   * a commit (G9).
   */
  async subscribe(scope: string, listener: HintListener): Promise<Subscription> {
    if (!this.channel) {
      throw new ApphookError(
        'E_STATE',
        `[${FAMILY.name}] this store was created with channel: false, so there is nothing to LISTEN to; use mode 'interval' or give it a channel`,
      );
    }
    this.listener ??= new ListenConnection({
      connection: this.options.listenConnection ?? pgConfigFromOrm(this.orm),
      channel: this.channel,
      logger: this.options.logger,
      ...this.options.listen,
    });
    return this.listener.subscribe(scope, listener);
  }

  /** Counters of the LISTEN connection, `undefined` until something subscribed. */
  listenStats(): ListenStats | undefined {
    return this.listener?.stats();
  }

  /** Counters of the NOTIFYs this store sent: in transactions, trailing after a burst, coalesced, failed. */
  notifyStats(): NotifyStats {
    return this.coalescing.stats();
  }

  /**
   * Sends the NOTIFYs held back by coalescing at once, then closes the LISTEN connection, if open. Never
   * closes the ORM: close the store first. Bumps after it notify inside their transactions again.
   */
  override async close(): Promise<void> {
    await this.coalescing.close();
    await this.listener?.close();
    this.listener = undefined;
    await super.close();
  }

  protected async bumpRaw(em: SqlExecutor, scope: string): Promise<unknown> {
    const t = this.table;
    const version = this.quote('version');
    const updatedAt = this.quote('updated_at');
    const upsert =
      `insert into ${t} (${this.quote('scope')}, ${version}, ${updatedAt}) values (?, 1, current_timestamp) ` +
      `on conflict (${this.quote('scope')}) do update set ${version} = ${t}.${version} + 1, ${updatedAt} = current_timestamp ` +
      `returning ${version}`;
    if (!this.channel) return this.firstVersion(await em.execute(upsert, [scope], 'all'));
    const coalescing = this.coalescing.active;
    if (em.isInTransaction()) {
      const rows = await em.execute(upsert, [scope], 'all');
      const ticket: NotifyTicket = { leading: true, tracked: false, version: this.versionOf(rows) };
      // One NOTIFY per root transaction and scope, however many bumps (G2): queued with a key, issued just
      // before the root commits with the version the transaction ends on. Postgres folds only identical
      // payloads, and each bump's payload names a new version. The last surviving bump's hooks run, so its
      // ticket carries that version.
      const key = `apphook:notify:${this.channel}:${this.table}:${scope}`;
      const decide = async (root: EntityManager) => {
        this.coalescing.decide(scope, ticket);
        if (ticket.leading) await this.notifyLatest(root, scope);
      };
      const tem = em as unknown as EntityManager;
      const queued = beforeCommit(tem, decide, { key });
      // Registered right after the before-commit hook, in the same savepoint level, so the same bump's pair
      // survives or goes (N4). Untracked (coalescing off, or no hook possible): notified in the transaction.
      ticket.tracked = coalescing && this.hookCommitted(tem, scope, ticket, key);
      // Not queued: the root is already committing (a watchEntities flush) or is unknown to the subscriber.
      if (!queued) await decide(tem);
      return this.firstVersion(rows);
    }
    // In no transaction: the statement is its own transaction.
    const ticket: NotifyTicket = { leading: true, tracked: coalescing, version: 0 };
    this.coalescing.decide(scope, ticket);
    if (!ticket.leading) {
      const rows = await em.execute(upsert, [scope], 'all');
      ticket.version = this.versionOf(rows);
      this.coalescing.committed(scope, ticket);
      return this.firstVersion(rows);
    }
    // One statement, so the notification is queued by the same commit as the increment.
    const rows = await em.execute(
      `with bumped as (${upsert}) select ${version}, pg_notify(?, json_build_object('scope', cast(? as text), 'version', ${version})::text) from bumped`,
      [scope, this.channel, scope],
      'all',
    );
    if (coalescing) {
      ticket.version = this.versionOf(rows);
      this.coalescing.committed(scope, ticket);
    }
    return this.firstVersion(rows);
  }

  /** Registers the after-commit half of coalescing; `false` when the transaction cannot take one. */
  private hookCommitted(em: EntityManager, scope: string, ticket: NotifyTicket, key: string): boolean {
    try {
      afterCommit(em, () => this.coalescing.committed(scope, ticket), { key });
      return true;
    } catch (error) {
      // afterCommit refuses only a transaction begun before apphook's subscriber was registered: no hook can
      // follow its commit, so it notifies inside itself, uncoalesced, as with minNotifyIntervalMs 0.
      if (error instanceof ApphookError && error.code === 'E_STATE') return false;
      throw error;
    }
  }

  /** Queues the NOTIFY of `scope` with the version the transaction of `em` holds now. */
  private async notifyLatest(em: EntityManager, scope: string): Promise<void> {
    await (em as unknown as SqlExecutor).execute(this.notifySql(), [this.channel, scope, scope], 'all');
  }

  /**
   * The trailing NOTIFY of coalescing (N2): in no transaction, on the ORM's write connection, never in a
   * caller's transaction context; resolves to the version it named.
   */
  private async notifyAfterCommit(scope: string): Promise<Version> {
    const rows = await this.orm.em
      .getConnection('write')
      .execute(this.notifySql(), [this.channel, scope, scope], 'all');
    return this.versionOf(rows);
  }

  private notifySql(): string {
    const version = this.quote('version');
    return `select ${version}, pg_notify(?, json_build_object('scope', cast(? as text), 'version', ${version})::text) from ${this.table} where ${this.quote('scope')} = ?`;
  }

  /** The version in a bump's or a NOTIFY's result rows, as a number for the coverage check (N2). */
  private versionOf(rows: unknown): Version {
    const raw = this.firstVersion(rows);
    const version = Number(raw);
    return Number.isSafeInteger(version) ? version : 0;
  }

  protected createTableStatements(): string[] {
    const q = (id: string) => this.quote(id);
    return [
      `create table if not exists ${this.table} (${q('scope')} varchar(191) not null, ${q('version')} bigint not null, ${q('updated_at')} timestamptz not null default current_timestamp, primary key (${q('scope')}))`,
    ];
  }
}

/**
 * The PostgreSQL token store for `orm` (a MikroORM instance from `@mikro-orm/postgresql`). Bumps run in your
 * transaction and send a NOTIFY that Postgres delivers only on commit.
 */
export function postgresStore(orm: MikroORM, options?: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(orm, options);
}

/**
 * The `pg` settings of the ORM's own connection (host, port, user, password, database, and `driverOptions`
 * such as `ssl`), for the LISTEN connection.
 */
export function pgConfigFromOrm(orm: MikroORM): pg.ClientConfig {
  // MikroORM 6 (knex) and 7 (kysely) both answer this; the difference is handled in @apphook/mikro-orm.
  const base = driverConnectionOptions(orm);
  const driverOptions = orm.config.get('driverOptions') as Record<string, unknown> | undefined;
  const extra =
    driverOptions && typeof driverOptions === 'object' && !('connection' in driverOptions)
      ? driverOptions
      : {};
  const { min: _min, max: _max, schema: _schema, ...rest } = { ...base, ...extra };
  return rest as pg.ClientConfig;
}
