import type { AfterCommitHook, AfterCommitOptions } from './contracts.js';

interface Entry {
  hook: AfterCommitHook;
  key: string | undefined;
}

/**
 * Django `on_commit` bookkeeping for one root transaction, shared by every store: one frame per open
 * transaction level. A released savepoint hands its hooks to its parent, a rolled-back one drops them, and
 * the root commit hands back the hooks to run (G1, G2). Keyed hooks run once: the last surviving
 * registration, in the place of the first.
 */
export class AfterCommitQueue {
  private readonly frames: Entry[][] = [];

  /** Number of open levels: 0 outside a transaction, 1 in the root, 2+ inside savepoints. */
  get depth(): number {
    return this.frames.length;
  }

  /** A transaction or savepoint began. */
  begin(): void {
    this.frames.push([]);
  }

  /** Queues `hook` in the innermost open level. Throws when no level is open: run the hook at once then. */
  add(hook: AfterCommitHook, options?: AfterCommitOptions): void {
    const frame = this.frames.at(-1);
    if (!frame) throw new Error('AfterCommitQueue.add called outside a transaction');
    frame.push({ hook, key: options?.key });
  }

  /** A savepoint was released: its hooks now belong to the parent and run only if the parent commits. */
  release(): void {
    const frame = this.frames.pop();
    const parent = this.frames.at(-1);
    if (!frame || !parent) throw new Error('AfterCommitQueue.release called without a savepoint');
    parent.push(...frame);
  }

  /** A savepoint or the root rolled back: its hooks are dropped. */
  rollback(): void {
    this.frames.pop();
  }

  /**
   * The root committed: returns the hooks to run, keyed duplicates collapsed, and resets the queue. Levels still
   * open count as released: the root commit made their work durable (some drivers release savepoints silently).
   */
  commit(): AfterCommitHook[] {
    const root = this.frames.flat();
    this.frames.length = 0;
    const out: AfterCommitHook[] = [];
    const slotOfKey = new Map<string, number>();
    for (const entry of root) {
      if (entry.key === undefined) {
        out.push(entry.hook);
        continue;
      }
      const slot = slotOfKey.get(entry.key);
      if (slot === undefined) {
        slotOfKey.set(entry.key, out.length);
        out.push(entry.hook);
      } else {
        out[slot] = entry.hook;
      }
    }
    return out;
  }
}

/**
 * Runs hooks one after another, in registration order. A hook that throws is reported and the next one
 * still runs: the transaction has committed and nothing can undo it (G2).
 */
export async function runAfterCommitHooks(
  hooks: readonly AfterCommitHook[],
  onError: (error: unknown) => void,
): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook();
    } catch (error) {
      try {
        onError(error);
      } catch {
        // A reporter that throws must not turn a committed transaction into a rejection.
      }
    }
  }
}
