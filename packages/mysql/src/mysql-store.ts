import { type SqlExecutor, SqlTokenStore, type SqlTokenStoreOptions, sqlLayer } from '@apphook/mikro-orm';
import type { MikroORM, Transaction, TransactionOptions } from '@mikro-orm/core';

export interface MysqlStoreOptions extends SqlTokenStoreOptions {}

const LAST_VERSION = 'select last_insert_id() as version';

/** The part of MikroORM's SQL connection a bump outside any transaction uses. */
interface PinnedConnection {
  transactional<T>(cb: (trx: Transaction) => Promise<T>): Promise<T>;
  execute(sql: string, params: unknown[], method: 'all' | 'run', trx: Transaction): Promise<unknown>;
}

const FAMILY = {
  name: 'apphook/mysql',
  platforms: ['MySql', 'MariaDb'],
  factory: 'mysqlStore(orm)',
} as const;

/**
 * The MySQL 8 / MariaDB 10.11+ token store. The upsert stores the new version in the connection's
 * `LAST_INSERT_ID`, which the next statement on the same connection reads back: atomic under concurrency
 * without a locking read (G1). Reads run on a pooled connection in autocommit, each with its own snapshot, so
 * REPEATABLE READ cannot hide a commit from them (G4).
 */
export class MysqlStore extends SqlTokenStore {
  constructor(orm: MikroORM, options: MysqlStoreOptions = {}) {
    super(FAMILY, orm, options);
  }

  /**
   * MikroORM 6 (knex) writes an isolation level and READ ONLY as one `SET TRANSACTION ... READ ONLY` without the
   * comma MySQL and MariaDB require, so the server rejects it: there a snapshot asks for READ ONLY alone and runs
   * at the server's default level, REPEATABLE READ unless `transaction_isolation` was changed (docs/stores.md).
   */
  protected override snapshotBegin(): TransactionOptions {
    return sqlLayer(this.orm) === 'knex' ? { readOnly: true } : super.snapshotBegin();
  }

  protected async bumpRaw(em: SqlExecutor, scope: string): Promise<unknown> {
    const upsert = this.upsertSql();
    if (!em.isInTransaction()) {
      // LAST_INSERT_ID is per connection: both statements must run on one, which only a transaction pins. A
      // connection-level transaction, because `em.transactional()` opens none under `disableTransactions`.
      const connection = this.orm.em.getConnection('write') as unknown as PinnedConnection;
      return connection.transactional(async (trx) => {
        await connection.execute(upsert, [scope], 'run', trx);
        return this.firstVersion(await connection.execute(LAST_VERSION, [], 'all', trx));
      });
    }
    await em.execute(upsert, [scope], 'run');
    return this.firstVersion(await em.execute(LAST_VERSION, [], 'all'));
  }

  private upsertSql(): string {
    const version = this.quote('version');
    const updatedAt = this.quote('updated_at');
    // LAST_INSERT_ID(1) in VALUES covers the first insert, where the UPDATE branch does not run.
    return (
      `insert into ${this.table} (${this.quote('scope')}, ${version}, ${updatedAt}) values (?, last_insert_id(1), current_timestamp) ` +
      `on duplicate key update ${version} = last_insert_id(${version} + 1), ${updatedAt} = current_timestamp`
    );
  }

  protected createTableStatements(): string[] {
    const q = (id: string) => this.quote(id);
    return [
      `create table if not exists ${this.table} (${q('scope')} varchar(191) not null, ${q('version')} bigint not null, ${q('updated_at')} datetime not null default current_timestamp, primary key (${q('scope')})) default character set utf8mb4 engine = InnoDB`,
    ];
  }
}

/**
 * The MySQL / MariaDB token store for `orm` (a MikroORM instance from `@mikro-orm/mysql` or
 * `@mikro-orm/mariadb`). There is no native push: use mode 'interval' or a notifier.
 */
export function mysqlStore(orm: MikroORM, options?: MysqlStoreOptions): MysqlStore {
  return new MysqlStore(orm, options);
}
