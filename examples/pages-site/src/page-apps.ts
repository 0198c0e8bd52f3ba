/**
 * Which page an application is attached to: a row per attachment, keyed by the page's id, so renaming or
 * moving the page in the admin (its path changes, its id does not) moves the application with it.
 */
import type { PageRow } from '@apphook/apphooks';
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Database } from './db.js';

export function appsTable(db: Database): string {
  return `${db.config.pagesTable ?? 'pages'}_apps`;
}

/** Creates the attachments table when missing (a real app runs a migration). */
export async function ensureAppsTable(db: Database): Promise<void> {
  const em = db.orm.em.fork() as SqlEntityManager;
  const q = em.getPlatform().quoteIdentifier(appsTable(db));
  await em.execute(
    `create table if not exists ${q} (page_id int not null primary key, application varchar(64) not null, namespace varchar(64))`,
  );
}

/** Attaches `application` to the page at `path` (the demo's seed; an admin form would do the same). */
export async function attachApp(
  db: Database,
  em: EntityManager,
  path: string,
  application: string,
  namespace: string,
): Promise<void> {
  const page = await em.findOneOrFail(db.Page, { path });
  const q = (em as SqlEntityManager).getPlatform().quoteIdentifier(appsTable(db));
  await (em as SqlEntityManager).execute(`delete from ${q} where page_id = ?`, [page.id]);
  await (em as SqlEntityManager).execute(
    `insert into ${q} (page_id, application, namespace) values (?, ?, ?)`,
    [page.id, application, namespace],
  );
}

/** The attached pages, read in the build's snapshot (`tx`), in page id order. */
export async function readPageApps(db: Database, tx: SqlEntityManager): Promise<PageRow[]> {
  const platform = tx.getPlatform();
  const apps = platform.quoteIdentifier(appsTable(db));
  const pages = platform.quoteIdentifier(db.config.pagesTable ?? 'pages');
  return tx.execute<PageRow[]>(
    `select p.path as path, a.application as application, a.namespace as namespace from ${apps} a join ${pages} p on p.id = a.page_id order by p.id`,
  );
}
