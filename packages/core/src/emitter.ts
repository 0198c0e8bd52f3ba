import type { Logger } from './contracts.js';

type Listener<T> = (event: T) => void;

/**
 * A tiny typed emitter. Unlike node's EventEmitter, an `'error'` event with no listener does not throw, and
 * a listener that throws is logged, never propagated: the reloader must not crash its process (G5).
 */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        this.logger.error(`[apphook/core] a '${String(event)}' listener threw; ignored`, { error });
      }
    }
  }
}
