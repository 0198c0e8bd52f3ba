import { type AfterCommitHook, type AfterCommitOptions, AfterCommitQueue } from '@apphook/core';
import type { EntityManager } from '@mikro-orm/core';

/** The mark a bump of `scope` leaves on its transaction, so `watchEntities` bumps a scope once (G1). */
export function bumpedMark(scope: string): string {
  return `apphook:bumped:${scope}`;
}

/** The mark `watchEntities` leaves after it bumped `scope`, so a later explicit bump of it adds nothing. */
export function watchedMark(scope: string): string {
  return `apphook:watched:${scope}`;
}

/** Runs inside the root transaction just before it commits, with the EntityManager of that transaction. */
export type BeforeCommitHook = (em: EntityManager) => Promise<void>;

/**
 * The hooks of one root transaction: after-commit hooks and before-commit hooks, with the same savepoint
 * bookkeeping (a released savepoint hands both to its parent, a rolled-back one drops both) and the same keyed
 * de-duplication.
 *
 * Also keeps marks (keys such as "scope S was bumped here") with the same savepoint rules.
 *
 * Invariants: both queues and the mark stack always have the same depth; before-commit hooks are drained once, at the root's
 * commit, and afterwards `addBefore` refuses (returns false), so a late caller does its work itself.
 */
export class CommitQueues {
  private readonly after = new AfterCommitQueue();
  private readonly before = new AfterCommitQueue();
  private readonly marks: Set<string>[] = [];
  private drained = false;

  get depth(): number {
    return this.after.depth;
  }

  begin(): void {
    this.after.begin();
    this.before.begin();
    this.marks.push(new Set());
  }

  /** Records `key` in the innermost open level. */
  mark(key: string): void {
    this.marks.at(-1)?.add(key);
  }

  /** Whether `key` was recorded in an open level (a rolled-back savepoint's marks are gone). */
  isMarked(key: string): boolean {
    return this.marks.some((level) => level.has(key));
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
    const level = this.marks.pop();
    for (const key of level ?? []) this.marks.at(-1)?.add(key);
  }

  rollback(): void {
    this.after.rollback();
    this.before.rollback();
    this.marks.pop();
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
    this.marks.length = 0;
    return this.after.commit();
  }
}
