import { ApphookError, type HintListener, type Logger, raceTimeout, type Subscription } from '@apphook/core';
import { describeTarget, errorText } from './describe.js';
import { type Entry, ListenerRegistry } from './listener-registry.js';
import { type InboxCounters, MessageInbox } from './message-inbox.js';
import type { RedisClient } from './options.js';
import { createSubscriberLink, type SubscriberLink } from './subscriber-link.js';

/**
 * - `idle`: no subscriber connection (nothing subscribed yet, or everything was closed)
 * - `connecting`: the first connection is being made; `subscribe()` calls wait for it
 * - `up`: connected and every channel confirmed subscribed
 * - `down`: was up and lost the connection; reloaders were told and poll (G9)
 * - `closed`: `notifier.close()` was called (final)
 *
 *   idle ─subscribe─▶ connecting ─ready, channels subscribed─▶ up ─lost─▶ down ─ready, resubscribed─▶ up
 *   connecting | up | down ─last subscription closed─▶ idle;   any ─close()─▶ closed
 *
 * Invariants, checked by `check()` at every transition (and from outside by test/subscriber-model.test.ts,
 * random fault schedules through a TCP proxy in front of a real Redis):
 * I1 At most one subscriber connection: `link` is the only one; a new link is made only when there is none,
 *    and a link is closed when it is let go.
 * I2 Lost means a reconnect is pending: in `connecting` and `down` the link is there (ioredis reconnects it
 *    by itself, with our retryStrategy that never gives up) or the retry timer that makes a new one is set.
 * I3 Up means every registered channel was acknowledged on the current link (listen first, G9).
 * I4 In idle and after close nothing is open: no link, no retry timer, no waiter, no channel.
 * ioredis owns reconnecting, offline handling and (for Cluster) the per-shard connections; the hub owns
 * which channels must be subscribed and what the listeners are told.
 */
export type HubState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

export interface HubCounters extends InboxCounters {
  /** Times the subscriber connection was lost after it had been up. */
  drops: number;
  /** Times every listener was told to re-read after the connection came back. */
  resyncs: number;
}

export interface SubscriberHubOptions {
  client: RedisClient;
  isCluster: boolean;
  /** Resolves the pub/sub flavour once; the link and wire channel names depend on it. */
  sharded(): Promise<boolean>;
  /** The channel name Redis sees for a scope. */
  wireChannel(scope: string, sharded: boolean): string;
  maxMessageBytes: number;
  subscribeTimeoutMs: number;
  heartbeatMs: number;
  logger: Logger;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

const WHERE = '[apphook/redis]';
const RETRY_MS = 1000;

const NEXT: Record<HubState, readonly HubState[]> = {
  idle: ['connecting', 'closed'],
  connecting: ['up', 'idle', 'closed'],
  up: ['down', 'idle', 'closed'],
  down: ['up', 'idle', 'closed'],
  closed: [],
};

/**
 * The one subscriber connection of a notifier, shared by every scope and reloader that uses it (made on the
 * first subscribe, closed with the last). It subscribes before it reports ready, tells listeners `down()`
 * once when the connection drops and `resync()` once it is subscribed again (G9), and turns channel traffic
 * into hints only after validating it (G10).
 */
export class SubscriberHub {
  private readonly connection = { drops: 0, resyncs: 0 };
  private current: HubState = 'idle';
  private link: SubscriberLink | undefined;
  private readonly registry: ListenerRegistry;
  private readonly inbox: MessageInbox;
  /** Channels acknowledged by Redis on the current connection. */
  private readonly confirmed = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly upWaiters = new Set<Waiter>();
  /** The link whose channels are being (re)subscribed, and whether more arrived meanwhile. */
  private syncing: SubscriberLink | undefined;
  private syncAgain = false;
  private lastError: unknown;
  private downError: ApphookError | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly opts: SubscriberHubOptions) {
    this.registry = new ListenerRegistry(opts.logger);
    this.inbox = new MessageInbox(this.registry, opts.maxMessageBytes, opts.logger);
  }

  get counters(): HubCounters {
    return { ...this.inbox.counters, ...this.connection };
  }

  get state(): HubState {
    return this.current;
  }

  get channelCount(): number {
    return this.registry.channelCount;
  }

  get subscriptionCount(): number {
    return this.registry.subscriptionCount;
  }

  async subscribe(scope: string, listener: HintListener): Promise<Subscription> {
    this.assertOpen();
    let sharded: boolean;
    try {
      sharded = await this.opts.sharded();
    } catch (error) {
      throw new ApphookError(
        'E_CONNECTION',
        `${WHERE} could not ask Redis whether it supports sharded pub/sub (${errorText(error)}); check the client connects, or pass sharded: true | false`,
        { cause: error },
      );
    }
    this.assertOpen();
    const entry = this.registry.add(this.opts.wireChannel(scope, sharded), scope, listener);
    this.ensureLink(sharded);
    try {
      await this.untilSubscribed(entry);
    } catch (error) {
      this.remove(entry);
      throw error;
    }
    return { close: async () => this.remove(entry) };
  }

  /** Drops every subscription and the connection. Idempotent. */
  close(): void {
    if (this.current === 'closed') return;
    const error = new ApphookError('E_STATE', `${WHERE} the notifier was closed while subscribing`);
    const waiters = [...this.upWaiters];
    this.upWaiters.clear();
    this.registry.clear();
    this.closeLink('closed');
    for (const waiter of waiters) waiter.reject(error);
  }

  private moveTo(next: HubState): void {
    if (!NEXT[this.current].includes(next)) this.broken(`transition ${this.current} -> ${next}`);
    this.current = next;
    this.check();
  }

  /** I1..I4 at every transition. A failure is a bug in this file, never a user error. */
  private check(): void {
    const state = this.current;
    const ok =
      state === 'idle' || state === 'closed'
        ? !this.link && !this.retryTimer && this.upWaiters.size === 0 && this.registry.channelCount === 0
        : state === 'up'
          ? this.link !== undefined && this.registry.channels().every((c) => this.confirmed.has(c))
          : this.link !== undefined || this.retryTimer !== undefined;
    if (!ok) this.broken(`state ${state} with link=${!!this.link} retry=${!!this.retryTimer}`);
  }

  private broken(what: string): never {
    throw new Error(`${WHERE} subscriber hub invariant broken (${what}); please report this bug`);
  }

  // --- subscribing ---------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.current === 'closed') {
      throw new ApphookError(
        'E_STATE',
        `${WHERE} the notifier is closed; create a new redisNotifier() to subscribe again`,
      );
    }
  }

  /** Resolves once Redis confirmed the channel, so a publish after it cannot be missed ("listen first"). */
  private async untilSubscribed(entry: Entry): Promise<void> {
    const wire = entry.channel;
    if (this.current === 'connecting') {
      await this.untilUp();
      return;
    }
    if (this.current === 'down') {
      // Registered now, subscribed on reconnect; meanwhile the reloader polls (G9).
      this.registry.tell(entry, 'down', this.downError ?? this.connectionError(this.lastError));
      return;
    }
    if (this.current !== 'up' || this.confirmed.has(wire)) return;
    const link = this.link;
    if (!link) return;
    let request = this.pending.get(wire);
    if (!request) {
      const started: Promise<void> = raceTimeout(
        link.subscribe([wire]),
        this.opts.subscribeTimeoutMs,
        `${WHERE} SUBSCRIBE ${wire} was not acknowledged within ${this.opts.subscribeTimeoutMs} ms`,
      )
        .then(() => {
          if (this.pending.get(wire) === started && this.link === link) this.confirmed.add(wire);
        })
        .finally(() => {
          if (this.pending.get(wire) === started) this.pending.delete(wire);
        });
      request = started;
      this.pending.set(wire, request);
    }
    try {
      await request;
    } catch (error) {
      if (this.state === 'closed') throw error;
      if (this.link !== link || !link.isReady()) {
        // The connection dropped under us: this subscription is kept and restored with the others.
        this.lastError = error;
        this.registry.tell(entry, 'down', this.downError ?? this.connectionError(error));
        return;
      }
      throw new ApphookError('E_CONNECTION', `${WHERE} subscribing to ${wire} failed: ${errorText(error)}`, {
        cause: error,
      });
    }
  }

  private untilUp(): Promise<void> {
    const ms = this.opts.subscribeTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.upWaiters.delete(waiter);
        const detail = this.lastError === undefined ? 'no answer' : errorText(this.lastError);
        reject(
          new ApphookError(
            'E_CONNECTION',
            `${WHERE} could not subscribe within ${ms} ms: ${describeTarget(this.opts.client)} did not become ready (${detail}). Check the client's host, port, password and TLS options and that Redis is up, raise subscribeTimeoutMs, or use mode 'interval'`,
            { cause: this.lastError },
          ),
        );
      }, ms);
      this.upWaiters.add(waiter);
    });
  }

  private remove(entry: Entry): void {
    if (entry.removed) return;
    const wire = entry.channel;
    if (this.registry.remove(entry)) {
      this.confirmed.delete(wire);
      // A later subscribe to this channel must send its own SUBSCRIBE, after this UNSUBSCRIBE.
      this.pending.delete(wire);
      const link = this.link;
      if (link && this.current === 'up' && this.registry.channelCount > 0) {
        link.unsubscribe([wire]).catch((error: unknown) => {
          this.opts.logger.debug?.(`${WHERE} UNSUBSCRIBE ${wire} failed: ${errorText(error)}`);
        });
      }
    }
    // The last subscription closes the connection (STYLE 5: only the connection the user asked for).
    if (this.registry.channelCount === 0) this.closeLink();
  }

  // --- the connection ------------------------------------------------------------------------------------

  private ensureLink(sharded: boolean): void {
    if (this.link || this.current === 'closed') return;
    const link: SubscriberLink = createSubscriberLink(
      this.opts.client,
      {
        sharded,
        isCluster: this.opts.isCluster,
        heartbeatMs: this.opts.heartbeatMs,
        logger: this.opts.logger,
        channels: () => this.registry.channels(),
      },
      {
        ready: () => {
          if (this.link === link) void this.sync(link);
        },
        lost: (error) => {
          if (this.link === link) this.onLost(error);
        },
        ended: () => {
          if (this.link !== link) return;
          // ioredis stopped reconnecting this connection: make a new one (G9).
          this.onLost(this.lastError ?? new Error('the subscriber connection ended'));
          this.dropLink();
          this.scheduleRetry(() => {
            if (this.registry.channelCount > 0) this.ensureLink(sharded);
          });
        },
        error: (error) => {
          if (this.link !== link) return;
          this.lastError = error;
          this.opts.logger.debug?.(`${WHERE} subscriber connection error: ${errorText(error)}`);
        },
        message: (channel, payload) => {
          if (this.link === link) this.inbox.receive(channel, payload);
        },
      },
    );
    this.link = link;
    if (this.current === 'idle') this.moveTo('connecting');
    link.connect();
  }

  /** (Re)subscribes every channel, then reports up; a listener that missed messages re-reads (G9). */
  private async sync(link: SubscriberLink): Promise<void> {
    if (this.syncing === link) {
      this.syncAgain = true;
      return;
    }
    this.syncing = link;
    this.syncAgain = false;
    try {
      do {
        this.syncAgain = false;
        const channels = this.registry.channels().filter((c) => !this.confirmed.has(c));
        await raceTimeout(
          link.subscribe(channels),
          this.opts.subscribeTimeoutMs,
          `${WHERE} SUBSCRIBE of ${channels.length} channel(s) was not acknowledged within ${this.opts.subscribeTimeoutMs} ms`,
        );
        if (this.link !== link) return;
        for (const channel of channels) if (this.registry.has(channel)) this.confirmed.add(channel);
        // Channels added while we waited are subscribed on the next turn, before anyone hears "up".
      } while (this.syncAgain || this.registry.channels().some((c) => !this.confirmed.has(c)));
    } catch (error) {
      if (this.link !== link) return;
      this.lastError = error;
      this.opts.logger.debug?.(`${WHERE} resubscribing failed, retrying: ${errorText(error)}`);
      this.scheduleRetry(() => {
        if (this.link === link && link.isReady() && this.current !== 'up') void this.sync(link);
      });
      return;
    } finally {
      if (this.syncing === link) this.syncing = undefined;
    }
    if (this.link !== link || this.current === 'closed') return;
    const wasDown = this.current === 'down';
    this.downError = undefined;
    if (this.current !== 'up') this.moveTo('up'); // a Cluster may report ready twice
    for (const waiter of this.upWaiters) waiter.resolve();
    this.upWaiters.clear();
    if (wasDown) {
      this.connection.resyncs++;
      this.opts.logger.info?.(`${WHERE} subscriber connection is back; reloaders re-read their scopes`);
      for (const entry of this.registry.all()) this.registry.tell(entry, 'resync');
    }
  }

  private onLost(error: unknown): void {
    this.confirmed.clear();
    this.pending.clear();
    if (this.current !== 'up') return;
    this.connection.drops++;
    this.downError = this.connectionError(this.lastError ?? error);
    this.lastError = undefined;
    // The link is still there (ioredis reconnects it), or ended() makes a new one right after (I2).
    this.moveTo('down');
    for (const entry of this.registry.all()) this.registry.tell(entry, 'down', this.downError);
  }

  private connectionError(cause: unknown): ApphookError {
    return new ApphookError(
      'E_CONNECTION',
      `${WHERE} lost the subscriber connection to ${describeTarget(this.opts.client)} (${errorText(cause)}); reloaders poll every intervalMs until it is back`,
      { cause },
    );
  }

  private scheduleRetry(fn: () => void): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.current !== 'closed') fn();
    }, RETRY_MS);
    this.retryTimer.unref?.();
  }

  private dropLink(): void {
    const link = this.link;
    this.link = undefined;
    this.confirmed.clear();
    this.pending.clear();
    link?.close();
  }

  private closeLink(next: 'idle' | 'closed' = 'idle'): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dropLink();
    this.lastError = undefined;
    this.downError = undefined;
    if (this.current !== next) this.moveTo(next);
  }
}
