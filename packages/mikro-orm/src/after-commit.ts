import {
  type AfterCommitHook,
  type AfterCommitOptions,
  ApphookError,
  createLogger,
  type Logger,
  runAfterCommitHooks,
  toApphookError,
} from '@apphook/core';
import type { EntityManager, EventSubscriber, MikroORM, TransactionEventArgs } from '@mikro-orm/core';
import { type BeforeCommitHook, CommitQueues } from './commit-queues.js';
import { untrackedSavepoint } from './orm-compat.js';

// A symbol from the global registry, so a second copy of this package still recognises the subscriber.
const BRAND = Symbol.for('@apphook/mikro-orm:after-commit');

type Transaction = NonNullable<TransactionEventArgs['transaction']>;

function isSavepoint(transaction: Transaction): boolean {
  return typeof transaction.savepointName === 'string';
}

/** The queue of a root transaction and the level (1 = root) a transaction or savepoint opened in it. */
interface Frame {
  queue: CommitQueues;
  level: number;
}

/** Closes the levels above `level`: savepoints released without an event hand their hooks down. */
function unwindTo(queue: CommitQueues, level: number): void {
  while (queue.depth > level) queue.release();
}

/**
 * One per ORM. MikroORM 7 dispatches transaction events for savepoints too (the transaction object carries
 * `savepointName`) and awaits every subscriber, so this keeps one `AfterCommitQueue` per root transaction,
 * keyed by the transaction objects of the root and of each of its savepoints.
 *
 * MikroORM's MySQL/MariaDB connection releases a savepoint without dispatching any event (7.2.1), so a level
 * may be closed silently: every event unwinds the levels above its own first, treating them as released,
 * which is what the database did.
 *
 * MikroORM 6 dispatches no event for savepoints at all: a savepoint gets its level when the first hook is
 * queued in it, and closes it when knex settles it (`untrackedSavepoint` in orm-compat.ts).
 */
export class AfterCommitSubscriber implements EventSubscriber {
  readonly [BRAND] = true;
  private readonly logger: Logger;
  /** The parent transaction of a savepoint being opened, by the EntityManager opening it. */
  private readonly opening = new WeakMap<EntityManager, Transaction>();
  /** Open transaction or savepoint -> its root's queue and its level. */
  private readonly frames = new WeakMap<Transaction, Frame>();

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Queues `hook` on the transaction `em` is in; `false` when `em` is in no transaction. */
  enqueue(em: EntityManager, hook: AfterCommitHook, options?: AfterCommitOptions): boolean {
    const transaction = em.getTransactionContext<Transaction>();
    if (!transaction) return false;
    const frame = this.frameOf(transaction);
    if (!frame) throw unknownTransaction();
    // Savepoints above this level were released silently (MySQL): their hooks come down first, keeping order.
    unwindTo(frame.queue, frame.level);
    frame.queue.add(hook, options);
    return true;
  }

  /**
   * Queues `hook` to run inside the root transaction `em` is in, just before it commits, once per `key`;
   * `false` when that is not possible (no transaction, one this subscriber does not know, or the root is
   * already committing): then the caller does the work at once.
   */
  enqueueBefore(em: EntityManager, hook: BeforeCommitHook, options?: AfterCommitOptions): boolean {
    const frame = this.frameOfEm(em);
    if (!frame) return false;
    unwindTo(frame.queue, frame.level);
    return frame.queue.addBefore(hook, options);
  }

  /** Records `key` on the transaction `em` is in; `false` when it is in none this subscriber knows. */
  mark(em: EntityManager, key: string): boolean {
    const frame = this.frameOfEm(em);
    if (!frame) return false;
    unwindTo(frame.queue, frame.level);
    frame.queue.mark(key);
    return true;
  }

  isMarked(em: EntityManager, key: string): boolean {
    const frame = this.frameOfEm(em);
    if (!frame) return false;
    unwindTo(frame.queue, frame.level);
    return frame.queue.isMarked(key);
  }

  private frameOfEm(em: EntityManager): Frame | undefined {
    const transaction = em.getTransactionContext<Transaction>();
    return transaction && this.frameOf(transaction);
  }

  async beforeTransactionCommit(args: TransactionEventArgs): Promise<void> {
    const transaction = args.transaction;
    const frame = transaction && this.frames.get(transaction);
    if (!transaction || !frame || frame.level > 1) return;
    unwindTo(frame.queue, 1);
    // Errors propagate: the commit fails and rolls back rather than commit without its before-commit work.
    for (const hook of frame.queue.drainBefore()) await hook(args.em);
  }

  report(error: unknown): void {
    const wrapped = toApphookError(
      error,
      'E_HOOK',
      '[apphook/mikro-orm] an after-commit hook failed; the transaction itself committed',
    );
    this.logger.error(wrapped.message, { error: wrapped });
  }

  beforeTransactionStart(args: TransactionEventArgs): void {
    // A savepoint is announced with its parent; the savepoint object itself only appears in afterTransactionStart.
    if (args.transaction) this.opening.set(args.em, args.transaction);
    else this.opening.delete(args.em);
  }

  afterTransactionStart(args: TransactionEventArgs): void {
    const transaction = args.transaction;
    if (!transaction) return;
    if (!isSavepoint(transaction)) {
      const queue = new CommitQueues();
      queue.begin();
      this.frames.set(transaction, { queue, level: 1 });
      return;
    }
    const parentTransaction = this.opening.get(args.em);
    this.opening.delete(args.em);
    const parent = parentTransaction && this.frames.get(parentTransaction);
    // A parent that began before this subscriber was registered has no queue: afterCommit in it throws.
    if (!parent) return;
    unwindTo(parent.queue, parent.level);
    parent.queue.begin();
    this.frames.set(transaction, { queue: parent.queue, level: parent.level + 1 });
  }

  async afterTransactionCommit(args: TransactionEventArgs): Promise<void> {
    let hooks: AfterCommitHook[];
    try {
      hooks = this.closeCommitted(args);
    } catch (error) {
      // Never turn a committed transaction into a rejection, not even for a bookkeeping bug (G2).
      this.report(error);
      return;
    }
    if (hooks.length === 0) return;
    // MikroORM leaves the committed transaction on the EntityManager that the transaction's async context
    // resolves `orm.em` to. A hook (a rebuild reading routes) must not run queries on a finished transaction.
    if (args.em.getTransactionContext() === args.transaction) args.em.resetTransactionContext();
    // Awaited: MikroORM awaits this event before `em.transactional()`, `em.commit()` or `em.flush()` resolves, so
    // the writing process serves the new version once the caller's commit resolves. Errors are reported only (G2).
    await runAfterCommitHooks(hooks, (error) => this.report(error));
  }

  /** Bookkeeping of a commit or release; returns the hooks to run now (only for a root commit). */
  private closeCommitted(args: TransactionEventArgs): AfterCommitHook[] {
    return args.transaction ? this.close(args.transaction, 'released') : [];
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    if (args.transaction) this.close(args.transaction, 'rolledBack');
  }

  /** Closes the level of `transaction`; returns the hooks to run now (only for a committed root). */
  private close(transaction: Transaction, outcome: 'released' | 'rolledBack'): AfterCommitHook[] {
    const frame = this.frames.get(transaction);
    if (!frame) return [];
    this.frames.delete(transaction);
    const { queue, level } = frame;
    if (outcome === 'released') {
      // A released savepoint hands its hooks to its parent: they run only if the root commits (G1, G2).
      unwindTo(queue, level > 1 ? level - 1 : 1);
      return level > 1 ? [] : queue.commit();
    }
    // A rolled-back savepoint drops its hooks, with those of savepoints released into it; a rolled-back root
    // drops the whole queue (G2).
    if (level > 1 && queue.depth >= level) {
      unwindTo(queue, level);
      queue.rollback();
    }
    return [];
  }

  /**
   * The level of `transaction`. A MikroORM 6 savepoint has none until a hook is queued in it: then it opens
   * one above its parent's (found the same way) and closes it when knex releases or rolls it back.
   */
  private frameOf(transaction: Transaction): Frame | undefined {
    const known = this.frames.get(transaction);
    if (known) return known;
    const savepoint = untrackedSavepoint(transaction);
    const parent = savepoint && this.frameOf(savepoint.parent as Transaction);
    if (!savepoint || !parent) return undefined;
    unwindTo(parent.queue, parent.level);
    parent.queue.begin();
    const frame = { queue: parent.queue, level: parent.level + 1 };
    this.frames.set(transaction, frame);
    void savepoint.outcome.then((outcome) => {
      try {
        this.close(transaction, outcome);
      } catch (error) {
        this.report(error);
      }
    });
    return frame;
  }
}

function unknownTransaction(): ApphookError {
  return new ApphookError(
    'E_STATE',
    "[apphook/mikro-orm] afterCommit: this transaction began before apphook's transaction subscriber was registered on its EntityManager; create the store (or call registerAfterCommit(orm)) before any transaction starts, and do not fork with freshEventManager",
  );
}

/**
 * Runs `hook(em)` inside the root transaction `em` is in, just before it commits, once per `options.key` (the
 * last registration that survives its savepoints). Returns `false`, queuing nothing, when `em` is in no
 * transaction known to apphook's subscriber or the root is already committing: do the work at once then.
 */
export function beforeCommit(
  em: EntityManager,
  hook: BeforeCommitHook,
  options?: AfterCommitOptions,
): boolean {
  return findSubscriber(em)?.enqueueBefore(em, hook, options) ?? false;
}

/**
 * Records `key` on the root transaction `em` is in, with savepoint rules (a rolled-back savepoint forgets
 * its marks); `false` when `em` is in no transaction known to apphook's subscriber.
 */
export function markTransaction(em: EntityManager, key: string): boolean {
  return findSubscriber(em)?.mark(em, key) ?? false;
}

/** Whether `markTransaction(em, key)` was called in the root transaction `em` is in and still stands. */
export function isTransactionMarked(em: EntityManager, key: string): boolean {
  return findSubscriber(em)?.isMarked(em, key) ?? false;
}

function isSubscriber(value: unknown): value is AfterCommitSubscriber {
  return typeof value === 'object' && value !== null && BRAND in value;
}

function findSubscriber(em: EntityManager): AfterCommitSubscriber | undefined {
  for (const subscriber of em.getEventManager().getSubscribers()) {
    if (isSubscriber(subscriber)) return subscriber;
  }
  return undefined;
}

export interface RegisterAfterCommitOptions {
  /**
   * Where failing hooks are reported. The first registration on an ORM decides.
   * @default console (warn and error only)
   */
  logger?: Logger | false;
}

/**
 * Registers apphook's transaction subscriber on `orm` (once; later calls return the same one). Call it before
 * any transaction starts: `em.transactional()` copies the subscribers into each transaction when it begins.
 * Creating a store does it for you.
 */
export function registerAfterCommit(
  orm: MikroORM,
  options: RegisterAfterCommitOptions = {},
): AfterCommitSubscriber {
  const eventManager = orm.em.getEventManager();
  const existing = findSubscriber(orm.em);
  if (existing) return existing;
  const subscriber = new AfterCommitSubscriber(createLogger(options.logger));
  eventManager.registerSubscriber(subscriber);
  return subscriber;
}

/**
 * Django's `on_commit` for MikroORM: runs `hook` after the outermost transaction `em` is in commits. A hook
 * registered in a savepoint that is rolled back never runs; one registered in a released savepoint runs when
 * the root commits. Outside a transaction the hook runs at once. Hooks run in registration order, are awaited
 * before the caller's `em.transactional()` / `em.commit()` / `em.flush()` resolves, and a failing hook is
 * reported, never thrown into the committed caller (G2). With `options.key`, the last surviving registration
 * of that key runs once per root transaction.
 *
 * Needs `registerAfterCommit(orm)` (or a store) before the transaction began; otherwise it throws.
 */
export function afterCommit(em: EntityManager, hook: AfterCommitHook, options?: AfterCommitOptions): void {
  if (typeof hook !== 'function') {
    throw new ApphookError(
      'E_OPTION',
      '[apphook/mikro-orm] afterCommit(em, hook): hook must be a function to run after the commit',
    );
  }
  const subscriber = findSubscriber(em);
  if (subscriber?.enqueue(em, hook, options)) return;
  if (!subscriber && em.isInTransaction()) throw unknownTransaction();
  // No transaction: there is nothing to wait for, as with Django's on_commit in autocommit mode.
  const report = subscriber
    ? (error: unknown) => subscriber.report(error)
    : (error: unknown) =>
        createLogger(undefined).error('[apphook/mikro-orm] an after-commit hook failed', { error });
  void runAfterCommitHooks([hook], report);
}
