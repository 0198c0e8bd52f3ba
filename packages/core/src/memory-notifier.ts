import type { Notifier, Subscription } from './contracts.js';
import { ApphookError } from './errors.js';
import { assertScope } from './scope.js';
import { ScopeListeners } from './scope-listeners.js';

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
  const listeners = new ScopeListeners();
  let connected = true;
  let count = 0;

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
      listeners.hint(scope);
    },

    async subscribe(scope, listener): Promise<Subscription> {
      assertScope(scope, 'apphook/core');
      const remove = listeners.add(scope, listener);
      count++;
      let open = true;
      return {
        async close() {
          if (!open) return;
          open = false;
          remove();
          count--;
        },
      };
    },

    disconnect(error = new ApphookError('E_CONNECTION', '[apphook/core] memoryNotifier disconnected')) {
      if (!connected) return;
      connected = false;
      for (const listener of listeners.all()) listener.down(error);
    },

    reconnect() {
      if (connected) return;
      connected = true;
      for (const listener of listeners.all()) listener.resync();
    },

    async close() {
      listeners.clear();
      count = 0;
    },
  };
}
