import { ApphookOptionError, assertScope, type TokenStore } from '@apphook/core';
import {
  type EntityManager,
  type EntityMetadata,
  type EntityName,
  type EventSubscriber,
  type FlushEventArgs,
  type MikroORM,
  type TransactionEventArgs,
  type UnitOfWork,
  wrap,
} from '@mikro-orm/core';
import { isTransactionMarked, markTransaction, registerAfterCommit } from './after-commit.js';
import { bumpedMark, watchedMark } from './commit-queues.js';

/** The part of a reloader `watchEntities` uses: `createReloader(...)` returns one. */
export interface MarkChangedTarget {
  readonly scope: string;
  markChanged(em: EntityManager): Promise<unknown>;
}

export interface WatchEntitiesOptions {
  /** Entities whose inserts, updates and deletes (and collection changes) mark the scope changed. */
  // biome-ignore lint/suspicious/noExplicitAny: MikroORM 6's EntityName has no default type argument; 7's is any.
  entities: readonly EntityName<any>[];
  /**
   * The reloader to notify: `reloader.markChanged(em)` runs inside the flush's transaction, so the version is
   * bumped there and, after the commit, the notifier publishes and this process rebuilds, as if your code had
   * called it. Pass either `reloader` or `store` (with `scope`).
   */
  reloader?: MarkChangedTarget;
  /**
   * Without a reloader in this process (a job worker that only writes): bump `scope` in this store. Other
   * processes notice by polling or Postgres LISTEN; nothing is published through a notifier.
   */
  store?: TokenStore<EntityManager>;
  /**
   * The scope to bump when `store` is given.
   * @default 'default'
   */
  scope?: string;
}

/** Stops a watch. MikroORM cannot unregister a subscriber, so the watch stays registered but inert. */
export type Unwatch = () => void;

function isSavepoint(args: TransactionEventArgs): boolean {
  return typeof args.transaction?.savepointName === 'string';
}

class EntityWatcher implements EventSubscriber {
  active = true;
  /** EntityManagers whose running flush changed a watched entity but has not bumped yet. */
  private readonly pending = new WeakSet<EntityManager>();

  constructor(
    private readonly watched: ReadonlySet<EntityMetadata>,
    private readonly scope: string,
    private readonly mark: (em: EntityManager) => Promise<unknown>,
  ) {}

  async onFlush(args: FlushEventArgs): Promise<void> {
    this.pending.delete(args.em);
    if (!this.active || !this.touches(args.uow)) return;
    // Inside the caller's transaction: bump now, in it (G1), unless this transaction already bumped the scope
    // (an earlier flush, or markChanged): one bump per scope and transaction.
    if (args.em.isInTransaction()) {
      if (isTransactionMarked(args.em, bumpedMark(this.scope))) return;
      await this.mark(args.em);
      markTransaction(args.em, watchedMark(this.scope));
      return;
    }
    // Otherwise the flush opens its own transaction after this event: bump just before it commits.
    this.pending.add(args.em);
  }

  async beforeTransactionCommit(args: TransactionEventArgs): Promise<void> {
    if (isSavepoint(args) || !this.pending.has(args.em)) return;
    this.pending.delete(args.em);
    await this.mark(args.em);
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    if (!isSavepoint(args)) this.pending.delete(args.em);
  }

  async afterFlush(args: FlushEventArgs): Promise<void> {
    // Still pending: the flush ran without a transaction (implicitTransactions: false), so bump on its own.
    if (!this.pending.has(args.em)) return;
    this.pending.delete(args.em);
    await this.mark(args.em);
  }

  private touches(uow: UnitOfWork): boolean {
    for (const changeSet of uow.getChangeSets()) {
      if (this.isWatched(changeSet.meta)) return true;
    }
    for (const collection of uow.getCollectionUpdates()) {
      if (this.isWatched(wrap(collection.owner, true).__meta)) return true;
    }
    return false;
  }

  private isWatched(meta: EntityMetadata | undefined): boolean {
    return !!meta && (this.watched.has(meta) || (!!meta.root && this.watched.has(meta.root)));
  }
}

/**
 * Bumps a scope whenever a flush inserts, updates or deletes one of `entities` (or changes one of their
 * collections), inside that flush's transaction, with no call in user code: django CMS's
 * `urls_need_reloading` signal, but transactional (G1). Works for `em.flush()` (its implicit transaction),
 * `em.transactional()` and `em.begin()/commit()`. Queries that bypass the unit of work (`nativeUpdate`,
 * `nativeDelete`, `em.execute`, query builders) are not seen: call `markChanged` for those.
 *
 * One bump per scope and transaction: a flush inside a transaction that already bumped the scope (an earlier
 * flush, or `markChanged`) does not bump again, and a `markChanged` after a watched flush in the same
 * transaction returns that flush's version without another increment (SQL stores).
 *
 * Register it at startup, before any transaction starts (a running `em.transactional()` keeps the
 * subscribers it started with). Returns a function that stops the watch.
 */
export function watchEntities(orm: MikroORM, options: WatchEntitiesOptions): Unwatch {
  const where = 'apphook/mikro-orm';
  if (!orm || typeof orm !== 'object' || typeof orm.getMetadata !== 'function') {
    throw new ApphookOptionError(`[${where}] watchEntities(orm, options) needs your MikroORM instance`);
  }
  if (!options || !Array.isArray(options.entities) || options.entities.length === 0) {
    throw new ApphookOptionError(
      `[${where}] watchEntities needs { entities: [Page, ...] }: the entities whose changes need a route rebuild`,
    );
  }
  const { reloader, store } = options;
  if ((reloader === undefined) === (store === undefined)) {
    throw new ApphookOptionError(
      `[${where}] watchEntities needs exactly one of { reloader } (bump and rebuild after commit) or { store, scope } (bump only)`,
    );
  }
  let mark: (em: EntityManager) => Promise<unknown>;
  let scope: string;
  if (reloader !== undefined) {
    if (typeof reloader?.markChanged !== 'function') {
      throw new ApphookOptionError(
        `[${where}] watchEntities: reloader must be what createReloader() returned`,
      );
    }
    if (options.scope !== undefined && options.scope !== reloader.scope) {
      throw new ApphookOptionError(
        `[${where}] watchEntities: scope '${String(options.scope)}' differs from the reloader's scope '${reloader.scope}'; leave scope out`,
      );
    }
    scope = reloader.scope;
    mark = (em) => reloader.markChanged(em);
  } else {
    if (typeof store?.bump !== 'function') {
      throw new ApphookOptionError(
        `[${where}] watchEntities: store must be a token store such as postgresStore(orm)`,
      );
    }
    const storeScope = options.scope ?? 'default';
    assertScope(storeScope, where);
    scope = storeScope;
    mark = (em) => store.bump(em, storeScope);
  }
  const metadata = orm.getMetadata();
  const watched = new Set<EntityMetadata>();
  for (const entity of options.entities) {
    const meta = metadata.find(entity);
    if (!meta) {
      throw new ApphookOptionError(
        `[${where}] watchEntities: ${typeof entity === 'string' ? entity : ((entity as { name?: string })?.name ?? String(entity))} is not one of the ORM's entities; add it to \`entities\` in your MikroORM config`,
      );
    }
    watched.add(meta);
  }
  // The reloader's after-commit work needs the transaction subscriber, registered before transactions start.
  registerAfterCommit(orm);
  const watcher = new EntityWatcher(watched, scope, mark);
  orm.em.getEventManager().registerSubscriber(watcher);
  return () => {
    watcher.active = false;
  };
}
