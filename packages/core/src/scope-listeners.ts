import type { HintListener } from './contracts.js';

/**
 * The hint listeners of the in-memory store and notifier, per scope. Hints are delivered asynchronously, like a
 * network hop, so a publisher never runs subscriber code inline, and a listener that throws is contained (G5).
 */
export class ScopeListeners {
  private readonly byScope = new Map<string, Set<HintListener>>();

  /** Adds `listener` to `scope`; the returned function removes it. */
  add(scope: string, listener: HintListener): () => void {
    let set = this.byScope.get(scope);
    if (!set) {
      set = new Set();
      this.byScope.set(scope, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  hint(scope: string): void {
    for (const listener of this.byScope.get(scope) ?? []) queueMicrotask(() => safeHint(listener, scope));
  }

  all(): HintListener[] {
    return [...this.byScope.values()].flatMap((set) => [...set]);
  }

  clear(): void {
    this.byScope.clear();
  }
}

/** A listener that throws must not become an uncaught exception in the publisher's process (G5). */
function safeHint(listener: HintListener, scope: string): void {
  try {
    listener.hint(scope);
  } catch {
    // The reloader's own listener never throws; a foreign one is not our process to crash.
  }
}
