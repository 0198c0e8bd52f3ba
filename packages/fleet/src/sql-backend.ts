/**
 * Announcements in a small table through the user's MikroORM (PostgreSQL, MySQL/MariaDB, SQLite). A write is one
 * upsert outside any transaction; rows past `expires_at` are invisible to readers and deleted by `prune()`, which
 * each announcer runs once at start.
 */
import { ApphookError, ApphookOptionError } from '@apphook/core';
import { assertTableName, isMissingTableError } from '@apphook/mikro-orm';
import type { MikroORM } from '@mikro-orm/core';
import { MAX_ANNOUNCEMENT_BYTES } from './announcement.js';
import type { FleetBackend, FleetListing } from './backend.js';
import { DEFAULT_FLEET_TABLE } from './fleet-entity.js';

export interface SqlFleetBackendOptions {
  /**
   * The fleet table; with a custom name add `defineApphookFleet({ tableName })` to your entities.
   * @default 'apphook_fleet'
   */
  tableName?: string;
}

export interface SqlFleetBackend extends FleetBackend {
  /** Creates the table if it does not exist (tests and quick starts; use migrations in production). */
  ensureSchema(): Promise<void>;
}

type Dialect = 'postgres' | 'mysql' | 'sqlite';

function dialectOf(orm: MikroORM): Dialect | undefined {
  let proto: unknown = Object.getPrototypeOf(orm.em.getPlatform());
  while (proto && proto !== Object.prototype) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? '';
    if (name.includes('PostgreSql')) return 'postgres';
    if (name.includes('MySql') || name.includes('MariaDb')) return 'mysql';
    if (name.includes('Sqlite')) return 'sqlite';
    proto = Object.getPrototypeOf(proto);
  }
  return undefined;
}

export function sqlFleetBackend(orm: MikroORM, options: SqlFleetBackendOptions = {}): SqlFleetBackend {
  if (!orm || typeof orm !== 'object' || !orm.em || typeof orm.em.getConnection !== 'function') {
    throw new ApphookOptionError(
      '[apphook/fleet] sqlFleetBackend(orm) needs your MikroORM instance (the one MikroORM.init() returned)',
    );
  }
  const dialect = dialectOf(orm);
  if (!dialect) {
    throw new ApphookOptionError(
      '[apphook/fleet] sqlFleetBackend(orm) supports PostgreSQL, MySQL/MariaDB and SQLite ORMs; use redisFleetBackend otherwise',
    );
  }
  const tableName = options.tableName ?? DEFAULT_FLEET_TABLE;
  assertTableName(tableName, 'apphook/fleet');
  const platform = orm.em.getPlatform();
  const q = (id: string) => platform.quoteIdentifier(id);
  const schema = orm.config.getSchema(true);
  const table = schema ? `${q(schema)}.${q(tableName)}` : q(tableName);
  const connection = () => orm.em.getConnection('write');
  const upsert =
    dialect === 'mysql'
      ? `insert into ${table} (${q('scope')}, ${q('id')}, ${q('payload')}, ${q('expires_at')}) values (?, ?, ?, ?) on duplicate key update ${q('payload')} = values(${q('payload')}), ${q('expires_at')} = values(${q('expires_at')})`
      : `insert into ${table} (${q('scope')}, ${q('id')}, ${q('payload')}, ${q('expires_at')}) values (?, ?, ?, ?) on conflict (${q('scope')}, ${q('id')}) do update set ${q('payload')} = excluded.${q('payload')}, ${q('expires_at')} = excluded.${q('expires_at')}`;
  // Only the first bytes of a payload are read: a stuffed row costs a bounded read (+1 to see the cut).
  const substr = dialect === 'sqlite' ? 'substr' : 'substring';
  const select = `select ${q('id')} as id, ${substr}(${q('payload')}, 1, ${MAX_ANNOUNCEMENT_BYTES + 1}) as payload from ${table} where ${q('scope')} = ? and ${q('expires_at')} > ? order by ${q('id')} limit `;

  const translate = (error: unknown, doing: string): ApphookError => {
    if (error instanceof ApphookError) return error;
    if (isMissingTableError(error)) {
      return new ApphookError(
        'E_SCHEMA',
        `[apphook/fleet] fleet table "${tableName}" is missing: add ${tableName === DEFAULT_FLEET_TABLE ? 'ApphookFleet' : `defineApphookFleet({ tableName: '${tableName}' })`} to your entities and run migrations, or call backend.ensureSchema()`,
        { cause: error },
      );
    }
    return new ApphookError(
      'E_STORE',
      `[apphook/fleet] ${doing} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  };
  const run = async <T>(doing: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw translate(error, doing);
    }
  };

  return {
    name: `sql (${dialect})`,
    write: (scope, id, payload, ttlMs) =>
      run('writing an announcement', async () => {
        await connection().execute(upsert, [scope, id, payload, Date.now() + ttlMs], 'run');
      }),
    remove: (scope, id) =>
      run('removing an announcement', async () => {
        await connection().execute(
          `delete from ${table} where ${q('scope')} = ? and ${q('id')} = ?`,
          [scope, id],
          'run',
        );
      }),
    prune: (scope) =>
      run('pruning expired announcements', async () => {
        await connection().execute(
          `delete from ${table} where ${q('scope')} = ? and ${q('expires_at')} <= ?`,
          [scope, Date.now()],
          'run',
        );
      }),
    list: (scope, limit) =>
      run('listing the fleet', async (): Promise<FleetListing> => {
        const rows = (await connection().execute(
          `${select}${Math.trunc(limit) + 1}`,
          [scope, Date.now()],
          'all',
        )) as Array<{
          id: unknown;
          payload: unknown;
        }>;
        return {
          entries: rows.slice(0, limit).map((r) => ({ id: String(r.id), payload: r.payload })),
          truncated: rows.length > limit,
        };
      }),
    ensureSchema: () =>
      run(`creating the fleet table "${tableName}"`, async () => {
        const tail = dialect === 'mysql' ? ' default character set utf8mb4 engine = InnoDB' : '';
        await connection().execute(
          `create table if not exists ${table} (${q('scope')} varchar(191) not null, ${q('id')} varchar(191) not null, ${q('payload')} text not null, ${q('expires_at')} bigint not null, primary key (${q('scope')}, ${q('id')}))${tail}`,
          [],
          'run',
        );
      }),
  };
}
