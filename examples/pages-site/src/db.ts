import type { TokenStore } from '@apphook/core';
import { defineApphookToken } from '@apphook/mikro-orm';
import type { EntityManager, EntitySchema, MikroORM } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { definePage, type Page } from './pages.js';

export type DbKind = 'sqlite' | 'postgres' | 'mysql';

export interface DbConfig {
  kind: DbKind;
  /** Connection URL for postgres and mysql. */
  url?: string;
  /** Database file for sqlite. */
  file?: string;
  /** @default 'pages' */
  pagesTable?: string;
  /** @default 'apphook_token' */
  tokenTable?: string;
  /** Postgres NOTIFY channel (`push` through the database). */
  channel?: string;
  /** Postgres: `false` sends no NOTIFY at all, so pushes travel only through Redis. @default true */
  notify?: boolean;
  /** Postgres: the store's `minNotifyIntervalMs` (one NOTIFY per window in a burst). @default the store's */
  minNotifyIntervalMs?: number;
  /** Postgres and MySQL: the most connections the ORM's pool opens. @default 4 */
  poolMax?: number;
}

export interface Database {
  orm: MikroORM;
  store: TokenStore<EntityManager> & { ensureSchema(): Promise<void>; close?(): Promise<void> };
  Page: EntitySchema<Page>;
  config: DbConfig;
  close(): Promise<void>;
}

/** Opens an ORM on the database and the apphook store that fits it; creates both tables when missing. */
export async function openDatabase(config: DbConfig): Promise<Database> {
  const Page = definePage(config.pagesTable);
  const Token = defineApphookToken({ tableName: config.tokenTable });
  const entities = [Page, Token];
  const common = { entities, debug: false, discovery: { warnWhenNoEntities: false } };
  let orm: MikroORM;
  let store: Database['store'];
  if (config.kind === 'sqlite') {
    const { MikroORM } = await import('@mikro-orm/sqlite');
    const { sqliteStore } = await import('@apphook/sqlite');
    orm = await MikroORM.init({ ...common, dbName: config.file ?? 'pages.sqlite' });
    store = sqliteStore(orm, { tableName: config.tokenTable });
  } else if (config.kind === 'postgres') {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    const { postgresStore } = await import('@apphook/postgresql');
    orm = await MikroORM.init({
      ...common,
      clientUrl: config.url,
      pool: { min: 0, max: config.poolMax ?? 4 },
    });
    store = postgresStore(orm, {
      tableName: config.tokenTable,
      ...(config.notify === false
        ? { channel: false as const }
        : config.channel
          ? { channel: config.channel }
          : {}),
      ...(config.minNotifyIntervalMs !== undefined
        ? { minNotifyIntervalMs: config.minNotifyIntervalMs }
        : {}),
    });
  } else {
    const { MikroORM } = await import('@mikro-orm/mysql');
    const { mysqlStore } = await import('@apphook/mysql');
    orm = await MikroORM.init({
      ...common,
      clientUrl: config.url,
      pool: { min: 0, max: config.poolMax ?? 4 },
    });
    store = mysqlStore(orm, { tableName: config.tokenTable });
  }
  await store.ensureSchema();
  await ensurePagesTable(orm, config.kind, config.pagesTable ?? 'pages');
  return {
    orm,
    store,
    Page,
    config,
    async close() {
      await store.close?.();
      await orm.close(true);
    },
  };
}

async function ensurePagesTable(orm: MikroORM, kind: DbKind, table: string): Promise<void> {
  const em = orm.em.fork() as SqlEntityManager;
  const q = em.getPlatform().quoteIdentifier(table);
  const id =
    kind === 'postgres'
      ? 'id serial primary key'
      : kind === 'mysql'
        ? 'id int auto_increment primary key'
        : 'id integer primary key autoincrement';
  await em.execute(
    `create table if not exists ${q} (${id}, path varchar(191) not null unique, title varchar(255) not null, body text not null)`,
  );
}

/**
 * Reads the token and the pages in one read-only snapshot, so the returned version is exactly the one the pages
 * belong to. The end-to-end harness checks every build against what the database held at that version.
 */
export async function readSnapshot<Extra = undefined>(
  db: Database,
  scope: string,
  /** More reads in the same snapshot (the apphooks' page attachments). */
  extra?: (tx: SqlEntityManager) => Promise<Extra>,
): Promise<{ dataVersion: number; pages: Page[]; extra: Extra | undefined }> {
  const em = db.orm.em.fork() as SqlEntityManager;
  const token = em.getPlatform().quoteIdentifier(db.config.tokenTable ?? 'apphook_token');
  return em.transactional(
    async (tx: SqlEntityManager) => {
      const rows = await tx.execute<Array<{ version: number | string }>>(
        `select version from ${token} where scope = ?`,
        [scope],
      );
      const pages = await tx.find(db.Page, {}, { orderBy: { path: 'asc' } });
      return {
        dataVersion: Number(rows[0]?.version ?? 0),
        pages: pages.map((p) => ({ ...p })),
        extra: await extra?.(tx),
      };
    },
    // MikroORM 6 on MySQL/MariaDB writes `set transaction isolation level repeatable read read only`, which MariaDB
    // rejects: read-only only where it is valid on both majors.
    db.config.kind === 'sqlite'
      ? {}
      : db.config.kind === 'mysql'
        ? { isolationLevel: 'repeatable read' }
        : { isolationLevel: 'repeatable read', readOnly: true },
  );
}
