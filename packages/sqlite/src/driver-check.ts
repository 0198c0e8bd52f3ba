import { ApphookOptionError } from '@apphook/core';
import { driverName, sqlLayer } from '@apphook/mikro-orm';
import type { MikroORM } from '@mikro-orm/core';

/**
 * On MikroORM 6 the store needs `@mikro-orm/better-sqlite`: its read connection, WAL switch and
 * `PRAGMA data_version` skip talk to better-sqlite3 directly. MikroORM 6's `@mikro-orm/sqlite` (node-sqlite3)
 * and `@mikro-orm/libsql` hold one pooled connection and no handle the store can read beside it, so a read
 * during a transaction would wait for that transaction (forever, when it is the caller's own): refuse them
 * with the fix instead (G11). MikroORM 7's drivers are all served.
 */
export function assertSqliteDriver(orm: MikroORM, where: string): void {
  if (sqlLayer(orm) !== 'knex') return;
  const driver = driverName(orm);
  if (driver === 'BetterSqliteDriver') return;
  throw new ApphookOptionError(
    `[${where}] sqliteStore on MikroORM 6 needs the @mikro-orm/better-sqlite driver, got ${driver}: install @mikro-orm/better-sqlite (same version as @mikro-orm/core) and import MikroORM from it instead of @mikro-orm/sqlite or @mikro-orm/libsql (same database file, same entities), or move to MikroORM 7`,
  );
}
