import type { Logger } from '@apphook/core';
import type { ListenerRegistry } from './listener-registry.js';
import { decodeMessage } from './message.js';

export interface InboxCounters {
  /** Messages that arrived on a subscribed channel. */
  received: number;
  /** Valid hints handed to at least one listener. */
  delivered: number;
  /** Messages over `maxMessageBytes`, dropped unread. */
  oversized: number;
  /** Messages that are not a valid hint (bad JSON, wrong format version, bad scope or version). */
  malformed: number;
  /** Valid hints for a scope nobody here subscribed to on that channel. */
  unknownScope: number;
}

const WARN_EVERY_MS = 60_000;

/**
 * Where channel traffic comes in. Anyone who can publish on the channel can send anything: a message is
 * validated, counted, and at most turned into a hint that makes a reloader read the store (G10). A flood
 * of junk is warned about once a minute, not once a message.
 */
export class MessageInbox {
  readonly counters: InboxCounters = {
    received: 0,
    delivered: 0,
    oversized: 0,
    malformed: 0,
    unknownScope: 0,
  };
  private lastWarnAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly registry: ListenerRegistry,
    private readonly maxMessageBytes: number,
    private readonly logger: Logger,
  ) {}

  receive(channel: Buffer, payload: Buffer): void {
    this.counters.received++;
    const decoded = decodeMessage(payload, this.maxMessageBytes);
    if (!decoded.ok) {
      this.counters[decoded.reason]++;
      this.noteIgnored(decoded.reason, channel);
      return;
    }
    const { scope } = decoded.message;
    const entries = this.registry.listeners(channel.toString(), scope);
    if (entries.length === 0) {
      // Normal with a shared `channel` (other processes serve other scopes); forged otherwise. Either way
      // it costs nothing.
      this.counters.unknownScope++;
      return;
    }
    this.counters.delivered++;
    for (const entry of entries) this.registry.tell(entry, 'hint');
  }

  private noteIgnored(reason: string, channel: Buffer): void {
    const now = Date.now();
    const text = `[apphook/redis] ignored a ${reason} message on channel ${JSON.stringify(channel.toString().slice(0, 100))}; messages are only hints (G10), but check who publishes there`;
    if (now - this.lastWarnAt >= WARN_EVERY_MS) {
      this.lastWarnAt = now;
      this.logger.warn(`${text} (further ones are counted in notifier.stats(), warned once a minute)`, {
        oversized: this.counters.oversized,
        malformed: this.counters.malformed,
      });
    } else {
      this.logger.debug?.(text);
    }
  }
}
