import type { Reloader } from '@apphook/core';
import type { EntityManager } from '@mikro-orm/core';
import type { Database } from './db.js';
import { routeSetHash } from './pages.js';

export interface WriteResult {
  /** The version this change committed as. */
  version: number;
  /** Hash of the whole route set as committed at that version. */
  hash: string;
  /** The paths routed at that version, sorted. */
  paths: string[];
}

export type PageChange =
  | { op: 'add'; path: string; title: string; body?: string }
  | { op: 'rename'; path: string; title: string; newPath?: string }
  | { op: 'remove'; path: string };

export interface WriteOptions {
  /** Wait this long after the bump before committing (the window django CMS's race lives in). */
  holdMs?: number;
}

/**
 * Applies one page change and bumps the version in the same transaction, the apphook way (G1, G2). Returns
 * the committed version and the hash of the route set at that version, read inside the transaction.
 */
export async function applyChange(
  db: Database,
  reloader: Reloader<unknown, EntityManager>,
  change: PageChange,
  options: WriteOptions = {},
): Promise<WriteResult> {
  return db.orm.em.fork().transactional(async (em) => {
    // The bump comes first: on SQLite it takes the write lock at the transaction's start, waiting for another
    // process's write (every worker's fleet heartbeat writes to the same file). A transaction that reads the page
    // first fails with SQLITE_BUSY at its first write when another process committed in between (SQLite cannot
    // move a read snapshot forward). On Postgres and MySQL the order makes no difference to what commits.
    const version = await reloader.markChanged(em);
    await mutate(db, em, change);
    const pages = await em.find(db.Page, {});
    if (options.holdMs) await new Promise((resolve) => setTimeout(resolve, options.holdMs));
    return { version, hash: routeSetHash(pages), paths: pages.map((p) => p.path).sort() };
  });
}

/**
 * The negative control: django CMS's order of operations. The token is bumped in its own autocommit and the
 * hint sent before the page change commits, so other processes can rebuild from rows that are not committed.
 */
export async function applyChangeNaively(
  db: Database,
  reloader: Reloader<unknown, EntityManager>,
  change: PageChange,
  options: WriteOptions & { publish?: (version: number) => Promise<void> } = {},
): Promise<WriteResult> {
  const version = await db.store.bump(db.orm.em.fork(), reloader.scope);
  await options.publish?.(version);
  return db.orm.em.fork().transactional(async (em) => {
    await mutate(db, em, change);
    const pages = await em.find(db.Page, {});
    if (options.holdMs) await new Promise((resolve) => setTimeout(resolve, options.holdMs));
    return { version, hash: routeSetHash(pages), paths: pages.map((p) => p.path).sort() };
  });
}

async function mutate(db: Database, em: EntityManager, change: PageChange): Promise<void> {
  if (change.op === 'add') {
    em.create(db.Page, {
      path: change.path,
      title: change.title,
      body: change.body ?? `<p>${change.title}</p>`,
    });
  } else {
    const page = await em.findOneOrFail(db.Page, { path: change.path });
    if (change.op === 'rename') {
      page.title = change.title;
      if (change.newPath) page.path = change.newPath;
    } else {
      em.remove(page);
    }
  }
  await em.flush();
}
