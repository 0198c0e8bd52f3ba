import type { HintListener, Logger } from '@apphook/core';
import { errorText } from './describe.js';

/** One `subscribe()` call: a listener for a scope on a wire channel. */
export interface Entry {
  readonly channel: string;
  readonly scope: string;
  readonly listener: HintListener;
  removed: boolean;
}

/**
 * Who listens to what: wire channel -> scope -> entries. With one channel per scope a channel has one scope;
 * with a shared `channel` it has many. Calls into listeners never throw out of here (G10).
 */
export class ListenerRegistry {
  private readonly byChannel = new Map<string, Map<string, Set<Entry>>>();

  constructor(private readonly logger: Logger) {}

  get channelCount(): number {
    return this.byChannel.size;
  }

  get subscriptionCount(): number {
    let count = 0;
    for (const byScope of this.byChannel.values()) for (const set of byScope.values()) count += set.size;
    return count;
  }

  channels(): string[] {
    return [...this.byChannel.keys()];
  }

  has(channel: string): boolean {
    return this.byChannel.has(channel);
  }

  add(channel: string, scope: string, listener: HintListener): Entry {
    const entry: Entry = { channel, scope, listener, removed: false };
    let byScope = this.byChannel.get(channel);
    if (!byScope) {
      byScope = new Map();
      this.byChannel.set(channel, byScope);
    }
    let set = byScope.get(scope);
    if (!set) {
      set = new Set();
      byScope.set(scope, set);
    }
    set.add(entry);
    return entry;
  }

  /** Removes `entry` (idempotent); `true` when its channel has no listener left. */
  remove(entry: Entry): boolean {
    if (entry.removed) return false;
    entry.removed = true;
    const byScope = this.byChannel.get(entry.channel);
    const set = byScope?.get(entry.scope);
    if (!byScope || !set) return false;
    set.delete(entry);
    if (set.size === 0) byScope.delete(entry.scope);
    if (byScope.size > 0) return false;
    this.byChannel.delete(entry.channel);
    return true;
  }

  clear(): void {
    for (const entry of this.all()) entry.removed = true;
    this.byChannel.clear();
  }

  /** The listeners of `scope` on `channel`, a copy safe to iterate while listeners unsubscribe. */
  listeners(channel: string, scope: string): Entry[] {
    const set = this.byChannel.get(channel)?.get(scope);
    return set ? [...set] : [];
  }

  all(): Entry[] {
    const out: Entry[] = [];
    for (const byScope of this.byChannel.values()) for (const set of byScope.values()) out.push(...set);
    return out;
  }

  /** A listener that throws must not break the connection or the other listeners (G10). */
  tell(entry: Entry, what: 'hint' | 'resync' | 'down', error?: unknown): void {
    if (entry.removed) return;
    try {
      if (what === 'hint') entry.listener.hint(entry.scope);
      else if (what === 'resync') entry.listener.resync();
      else entry.listener.down(error);
    } catch (thrown) {
      this.logger.error(
        `[apphook/redis] a ${what} listener of scope '${entry.scope}' threw: ${errorText(thrown)}`,
        {
          error: thrown,
        },
      );
    }
  }
}
