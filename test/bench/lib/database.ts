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

/** Creates the tables and seeds `pages` rows. `pgChannel: false` turns Postgres NOTIFY off (Redis-only runs). */
export async function createBenchDatabase(
  kind: DbKind,
  pages: number,
  options: { pgChannel?: boolean } = {},
): Promise<BenchDatabase> {
  const tag = `bench_${randomBytes(4).toString('hex')}`;
  const dir = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'apphook-bench-')) : undefined;
  const config: DbConfig = {
    kind,
    ...(dir
      ? { file: join(dir, 'site.sqlite') }
      : { url: kind === 'postgres' ? services.postgres : services.mysql }),
    pagesTable: `${tag}_pages`,
    tokenTable: `${tag}_token`,
    ...(kind === 'postgres'
      ? { channel: tag, ...(options.pgChannel === false ? { notify: false } : {}) }
      : {}),
  };
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
  return {
    config,
    tag,
    paths: Array.from({ length: pages }, (_, i) => pagePath(i)),
    async drop() {
      if (dir) {
        rmSync(dir, { recursive: true, force: true });
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
