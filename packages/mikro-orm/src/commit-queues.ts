import { type AfterCommitHook, type AfterCommitOptions, AfterCommitQueue } from '@apphook/core';
import type { EntityManager } from '@mikro-orm/core';

/** Runs inside the root transaction just before it commits, with the EntityManager of that transaction. */
export type BeforeCommitHook = (em: EntityManager) => Promise<void>;

/**
 * The hooks of one root transaction: after-commit hooks and before-commit hooks, with the same savepoint
 * bookkeeping (a released savepoint hands both to its parent, a rolled-back one drops both) and the same keyed
 * de-duplication.
 *
 * Invariants: both queues always have the same depth; before-commit hooks are drained once, at the root's
 * commit, and afterwards `addBefore` refuses (returns false), so a late caller does its work itself.
 */
export class CommitQueues {
  private readonly after = new AfterCommitQueue();
  private readonly before = new AfterCommitQueue();
  private drained = false;

  get depth(): number {
    return this.after.depth;
  }

  begin(): void {
    this.after.begin();
    this.before.begin();
  }

  add(hook: AfterCommitHook, options?: AfterCommitOptions): void {
    this.after.add(hook, options);
  }

  /** Queues a before-commit hook; `false` once the root began committing. */
  addBefore(hook: BeforeCommitHook, options?: AfterCommitOptions): boolean {
    if (this.drained) return false;
    // Stored in the same queue type: the queue only keeps and orders functions, it never calls them.
    this.before.add(hook as unknown as AfterCommitHook, options);
    return true;
  }

  release(): void {
    this.after.release();
    this.before.release();
  }

  rollback(): void {
    this.after.rollback();
    this.before.rollback();
  }

  /** The root is about to commit: the surviving before-commit hooks, keyed duplicates collapsed, once. */
  drainBefore(): BeforeCommitHook[] {
    if (this.drained) return [];
    this.drained = true;
    const depth = this.before.depth;
    const hooks = this.before.commit() as unknown as BeforeCommitHook[];
    // commit() emptied the levels; the after-commit side still needs them until the commit event.
    for (let i = 0; i < depth; i++) this.before.begin();
    return hooks;
  }

  /** The root committed: the after-commit hooks to run. */
  commit(): AfterCommitHook[] {
    this.before.commit();
    return this.after.commit();
  }
}
