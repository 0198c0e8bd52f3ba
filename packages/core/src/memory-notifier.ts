import type { HintListener, Notifier, Subscription } from './contracts.js';
import { ApphookError } from './errors.js';
import { assertScope } from './scope.js';

export interface MemoryNotifier extends Notifier {
  /** Simulates a lost connection: subscribers get `down()` and publishes reject until `reconnect()`. */
  disconnect(error?: unknown): void;
  /** Simulates the connection coming back: subscribers get `resync()`. */
  reconnect(): void;
  /** Number of live subscriptions, for tests. */
  readonly subscriberCount: number;
}

/**
 * A real `Notifier` inside one process: every reloader that shares the instance hears every publish. For
 * single-process apps and tests; `disconnect()` and `reconnect()` exercise the recovery paths (G9).
 */
export function memoryNotifier(): MemoryNotifier {
  const listeners = new Map<string, Set<HintListener>>();
  let connected = true;
  let count = 0;

  const all = (): HintListener[] => [...listeners.values()].flatMap((set) => [...set]);

  return {
    name: 'apphook/core memoryNotifier',

    get subscriberCount() {
      return count;
    },

    async publish(scope) {
      assertScope(scope, 'apphook/core');
      if (!connected) {
        throw new ApphookError(
          'E_CONNECTION',
          '[apphook/core] memoryNotifier is disconnected; call reconnect()',
        );
      }
      // Delivered asynchronously, like a network hop, so a publisher never runs subscriber code inline.
      for (const listener of listeners.get(scope) ?? []) queueMicrotask(() => safeHint(listener, scope));
    },

    async subscribe(scope, listener): Promise<Subscription> {
      assertScope(scope, 'apphook/core');
      let set = listeners.get(scope);
      if (!set) {
        set = new Set();
        listeners.set(scope, set);
      }
      set.add(listener);
      count++;
      let open = true;
      return {
        async close() {
          if (!open) return;
          open = false;
          set.delete(listener);
          count--;
        },
      };
    },

    disconnect(error = new ApphookError('E_CONNECTION', '[apphook/core] memoryNotifier disconnected')) {
      if (!connected) return;
      connected = false;
      for (const listener of all()) listener.down(error);
    },

    reconnect() {
      if (connected) return;
      connected = true;
      for (const listener of all()) listener.resync();
    },

    async close() {
      listeners.clear();
      count = 0;
    },
  };
}

/** A listener that throws must not become an uncaught exception in the publisher's process (G5). */
function safeHint(listener: HintListener, scope: string): void {
  try {
    listener.hint(scope);
  } catch {
    // The reloader's own listener never throws; a foreign one is not our process to crash.
  }
}
