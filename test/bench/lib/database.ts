/**
 * Tables (or an SQLite file) of the bench's own, named after a random tag so a bench never shares rows,
 * token scopes or channels with tests running at the same time; removed again at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DbConfig, type DbKind, openDatabase } from '@apphook/example-pages-site/db';
import { services } from '@apphook/test-suite/services';
import type { SqlEntityManager } from '@mikro-orm/sql';
import pg from 'pg';

export interface BenchDatabase {
  config: DbConfig;
  tag: string;
  /** The page paths, in insertion order. */
  paths: string[];
  drop(): Promise<void>;
}

export function pagePath(i: number): string {
  return `/page-${String(i).padStart(5, '0')}`;
}

/**
 * Creates the tables and seeds `pages` rows. `pgChannel: false` turns Postgres NOTIFY off (Redis-only runs).
 * `ownDatabase`: on Postgres, the tables go into a database of their own, created here and dropped by `drop()`.
 * Groups whose workers run at once need it: a NOTIFY wakes every LISTEN connection of its database, whatever
 * channel it listens on (Postgres signals them all to read the shared queue), so with one database each
 * group's storm would also wake the other groups' listeners, which a fleet of its own would not have.
 */
export async function createBenchDatabase(
  kind: DbKind,
  pages: number,
  options: { pgChannel?: boolean; ownDatabase?: boolean } = {},
): Promise<BenchDatabase> {
  const tag = `bench_${randomBytes(4).toString('hex')}`;
  const dir = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'apphook-bench-')) : undefined;
  const own = kind === 'postgres' && options.ownDatabase === true;
  if (own) await admin(`create database ${tag}`);
  const config: DbConfig = {
    kind,
    ...(dir
      ? { file: join(dir, 'site.sqlite') }
      : { url: kind === 'postgres' ? (own ? databaseUrl(tag) : services.postgres) : services.mysql }),
    pagesTable: `${tag}_pages`,
    tokenTable: `${tag}_token`,
    ...(kind === 'postgres'
      ? { channel: tag, ...(options.pgChannel === false ? { notify: false } : {}) }
      : {}),
  };
  try {
    const db = await openDatabase(config);
    try {
      const em = db.orm.em.fork();
      const rows = Array.from({ length: pages }, (_, i) => ({
        path: pagePath(i),
        title: `Page ${i}`,
        body: `<p>Body of page ${i}, from the database.</p>`,
      }));
      for (let i = 0; i < rows.length; i += 500) await em.insertMany(db.Page, rows.slice(i, i + 500));
    } finally {
      await db.close();
    }
  } catch (error) {
    if (own) await admin(`drop database if exists ${tag} with (force)`).catch(() => {});
    throw error;
  }
  return {
    config,
    tag,
    paths: Array.from({ length: pages }, (_, i) => pagePath(i)),
    async drop() {
      if (dir) {
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      if (own) {
        await admin(`drop database if exists ${tag} with (force)`);
        return;
      }
      const database = await openDatabase(config);
      try {
        const em = database.orm.em.fork() as SqlEntityManager;
        const q = (name: string) => em.getPlatform().quoteIdentifier(name);
        await em.execute(`drop table if exists ${q(config.pagesTable!)}`);
        await em.execute(`drop table if exists ${q(config.tokenTable!)}`);
      } finally {
        await database.close();
      }
    },
  };
}

/** `services.postgres` with another database name. */
function databaseUrl(database: string): string {
  const url = new URL(services.postgres);
  url.pathname = `/${database}`;
  return url.href;
}

/** One statement on the server's own database (`services.postgres`), outside any transaction. */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: services.postgres });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
