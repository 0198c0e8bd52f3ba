import type { HintListener, Notifier, ReloaderMode, Subscription, TokenStore, Version } from './contracts.js';
import { toApphookError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { ErrorPhase } from './reloader-types.js';
import { attempt, unlessAborted, unrefTimer } from './timing.js';

export interface ChannelsOptions {
  store: Pick<TokenStore, 'name' | 'subscribe'>;
  notifier: Notifier | undefined;
  scope: string;
  mode: ReloaderMode;
  options: ResolvedOptions;
  /** A shared store read that starts at or after the call (SharedRead.fresh). */
  read(): Promise<Version | undefined>;
  lastReadStartedAt(): number;
  isRunning(): boolean;
  /** Every hint for this scope, before the throttle (counters, storm pacing). */
  onHint(): void;
  /** `true` when a build running or pending answers the hint, so it needs no read of its own (S8). */
  absorbHint(): boolean;
  report(phase: ErrorPhase, error: unknown, message?: string): void;
}

/*
 * A reloader's push subscriptions and polls: every way it learns that the store may have changed. Invariants:
 *
 * C1 A subscription opened after close() started (start() was cut short by stop()) is closed when it arrives.
 * C2 After close(): no subscription, poll timer or hint timer remains, and none is created (the poll only
 *    reschedules while the reloader runs).
 * C3 Hints start at most one read per `minHintIntervalMs` (leading and trailing): a flood costs bounded reads,
 *    and the last hint of a burst is always read (G10), or absorbed by a build that answers it (C4).
 * C4 A hint, or the end of its throttle window, that finds a build running or pending starts no read: the
 *    scheduler answers it after that build (S8 in build-scheduler.ts). So a storm costs about one read per
 *    rebuild, not one per window.
 */
export class ReloaderChannels {
  private subscriptions: Subscription[] = [];
  private readonly down = new Set<string>();
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private hintTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly o: ChannelsOptions) {}

  /** `false` while any push channel reports itself down (polling at `intervalMs` then). */
  get healthy(): boolean {
    return this.down.size === 0;
  }

  /** Subscribes every push channel; rejects with the abort reason when `signal` fires first (C1). */
  async subscribe(signal: AbortSignal): Promise<void> {
    this.closed = false;
    const { store, notifier, scope } = this.o;
    const channels: Array<[string, (listener: HintListener) => Promise<Subscription>]> = [];
    if (store.subscribe) channels.push([store.name, (l) => store.subscribe!(scope, l)]);
    if (notifier) channels.push([notifier.name, (l) => notifier.subscribe(scope, l)]);
    for (const [name, subscribe] of channels) {
      let subscription: Subscription;
      try {
        subscription = await unlessAborted(
          attempt(() => subscribe(this.listenerFor(name))),
          signal,
          (late) => this.closeOne(late),
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw toApphookError(
          error,
          'E_CONNECTION',
          `[apphook/core] start(): subscribing scope '${scope}' through ${name} failed; check the server is reachable, or choose mode 'interval'`,
        );
      }
      if (this.closed) this.closeOne(subscription);
      else this.subscriptions.push(subscription);
    }
  }

  /** Closes every subscription and timer (C2). Safe to call more than once. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.hintTimer);
    this.pollTimer = undefined;
    this.hintTimer = undefined;
    const subscriptions = this.subscriptions.splice(0);
    await Promise.all(subscriptions.map((s) => this.closeOne(s)));
  }

  schedulePoll(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    if (!this.o.isRunning()) return;
    const { options } = this.o;
    const fast = this.o.mode === 'interval' || this.down.size > 0;
    const base = fast ? options.intervalMs : options.safetyIntervalMs;
    const delay = base + Math.random() * options.jitterMs;
    this.pollTimer = unrefTimer(
      setTimeout(() => {
        this.pollTimer = undefined;
        void this.o.read().finally(() => this.schedulePoll());
      }, delay),
    );
  }

  private closeOne(subscription: Subscription): Promise<void> {
    return attempt(() => subscription.close()).catch((error: unknown) =>
      this.o.report('subscribe', error, 'closing a subscription failed'),
    );
  }

  /** A hint only ever triggers a coalesced, throttled read; it never sets a version (G10, C3, C4). */
  private hinted(): void {
    if (this.hintTimer || this.closed) return; // a trailing read is already planned
    if (this.o.absorbHint()) return;
    const wait = this.o.lastReadStartedAt() + this.o.options.minHintIntervalMs - Date.now();
    if (wait <= 0) {
      void this.o.read();
      return;
    }
    this.hintTimer = unrefTimer(
      setTimeout(() => {
        this.hintTimer = undefined;
        if (!this.o.absorbHint()) void this.o.read();
      }, wait),
    );
  }

  private listenerFor(channel: string): HintListener {
    return {
      hint: (scope) => {
        if (scope !== this.o.scope || this.closed) return;
        this.o.onHint();
        this.hinted();
      },
      resync: () => {
        if (this.closed) return;
        this.down.delete(channel);
        void this.o.read();
        this.schedulePoll();
      },
      down: (error) => {
        if (this.closed) return;
        const first = !this.down.has(channel);
        this.down.add(channel);
        if (first) {
          this.o.report(
            'channel',
            error,
            `${channel} is down; polling every ${this.o.options.intervalMs} ms until it is back`,
          );
          this.schedulePoll();
        }
      },
    };
  }
}
