import { randomUUID } from 'node:crypto';
import {
  type ApphookError,
  backoffDelay,
  createLogger,
  type HintListener,
  type Logger,
  raceTimeout,
  type Subscription,
} from '@apphook/core';
import pg from 'pg';
import {
  closedError,
  listenFailedError,
  lostError,
  parsePayload,
  poolerError,
  unreachableError,
} from './listen-messages.js';
import { type ListenConnectionOptions, type ListenState, type ListenStats, NEXT } from './listen-types.js';

export type { ListenConnectionOptions, ListenState, ListenStats } from './listen-types.js';

/*
 * The LISTEN connection is a small state machine. Its invariants, checked by `check()` at every transition
 * and from outside by the model-based test (test/listen-model.test.ts, random schedules through a
 * fault-injecting proxy):
 *
 *   idle ─subscribe─▶ connecting ─connected, LISTEN, self-test─▶ listening
 *                       │    ▲                                      │
 *      failed, dropped, │    │ the timer fires, or a subscribe      │ error, end, heartbeat unanswered
 *      timed out        ▼    │ arrives (reconnect now)              ▼
 *                      lost ◀───────────────────────────────────────┘
 *   connecting | listening | lost ─last subscription closed─▶ idle;   any ─close()─▶ closed (final)
 *   A first connection that fails goes back to idle and its subscribe() calls reject (nothing to retry for).
 *
 * I1 At most one client, so at most one LISTEN backend: `client` is the only pg.Client held; an attempt
 *    starts only from idle or lost, where there is none, and whoever lets go of a client ends it.
 * I2 Lost means a reconnect is pending: in `lost` the reconnect timer is set.
 * I3 An attempt's outcome counts only while it is the current attempt: a drop during the self-test fails
 *    that attempt (lost, reconnect pending), it never joins a later one nor reads as "a pooler".
 * I4 In idle and after close nothing is open: no client, no timer, no heartbeat, no attempt.
 * I5 Listeners hear down() once per outage and resync() once when LISTEN works again (G9).
 */
type Client = InstanceType<typeof pg.Client>;

/** One connection attempt: its client, and whether the subscribe() calls that started it wait for it. */
interface Attempt {
  readonly client: Client;
  /** Started from idle: every listener is a subscribe() call waiting for this attempt. */
  readonly initial: boolean;
  readonly done: Promise<void>;
  readonly abort: AbortController;
  /** `selftest` once LISTEN is active: from then on a drop fails the attempt at once (I3). */
  phase: 'connect' | 'selftest';
  nonce: string | undefined;
  heard(): void;
  resolve(): void;
  reject(error: unknown): void;
}

const noop = (): void => {};

/**
 * The one LISTEN connection of a Postgres store, shared by every scope and reloader that uses the store. It
 * listens before anyone reads (so nothing is missed between the two), reconnects with backoff, tells listeners
 * `down()` / `resync()` around every outage (G9), and treats payloads as untrusted hints (G10).
 */
export class ListenConnection {
  private readonly listeners = new Map<string, Set<HintListener>>();
  private readonly logger: Logger;
  private readonly heartbeatMs: number;
  private readonly selfTestTimeoutMs: number;
  private readonly reconnectBaseMs: number;
  private readonly reconnectMaxMs: number;
  private readonly maxPayloadBytes: number;
  private state: ListenState = 'idle';
  private client: Client | undefined;
  private attempt: Attempt | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  /** Listeners were told down() and not yet resync() (I5). */
  private toldDown = false;
  private lastError: ApphookError | undefined;
  private readonly counters = { notifications: 0, ignored: 0, reconnects: 0 };
  private pushAvailable = true;
  /** Clients being ended, awaited by close() so that nothing is left open. */
  private readonly ending = new Set<Promise<void>>();

  constructor(private readonly options: ListenConnectionOptions) {
    this.logger = createLogger(options.logger);
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.selfTestTimeoutMs = options.selfTestTimeoutMs ?? 3_000;
    this.reconnectBaseMs = options.reconnectBaseMs ?? 250;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 10_000;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 1024;
  }

  stats(): ListenStats {
    return {
      listening: this.state === 'listening' && !this.toldDown,
      state: this.state,
      ...this.counters,
      pushAvailable: this.pushAvailable,
    };
  }

  /**
   * Resolves once LISTEN is active, so a read made afterwards cannot miss a commit. During an outage it
   * resolves at once after telling `listener` down() (it polls, and hears resync() when LISTEN is back).
   */
  async subscribe(scope: string, listener: HintListener): Promise<Subscription> {
    if (this.state === 'closed') throw closedError();
    let set = this.listeners.get(scope);
    if (!set) {
      set = new Set();
      this.listeners.set(scope, set);
    }
    set.add(listener);
    const subscription = this.subscriptionOf(scope, set, listener);
    if (this.state === 'idle') this.startAttempt(true);
    else if (this.state === 'lost') this.startAttempt(false); // a newcomer need not wait out the backoff
    const attempt = this.attempt;
    if (attempt?.initial) {
      // The first connection: resolve once LISTEN is active (a deaf one told every listener down already).
      try {
        await attempt.done;
      } catch (error) {
        await subscription.close();
        throw error;
      }
      return subscription;
    }
    // Not listening yet (a reconnect in flight), or deaf (a pooler): poll, not wait for a push (G9).
    if (this.toldDown && this.lastError) listener.down(this.lastError);
    return subscription;
  }

  /** Closes the connection and stops reconnecting; resolves once the client has ended. Idempotent. */
  async close(): Promise<void> {
    if (this.state !== 'closed') {
      this.listeners.clear();
      this.release('closed', closedError('while subscribing'));
    }
    await Promise.all([...this.ending]);
  }

  private subscriptionOf(scope: string, set: Set<HintListener>, listener: HintListener): Subscription {
    let open = true;
    return {
      close: async () => {
        if (!open) return;
        open = false;
        set.delete(listener);
        if (set.size === 0 && this.listeners.get(scope) === set) this.listeners.delete(scope);
        if (this.listeners.size === 0 && this.state !== 'idle' && this.state !== 'closed') {
          this.release('idle', closedError('while subscribing'));
        }
        await Promise.all([...this.ending]);
      },
    };
  }

  // --- transitions ---------------------------------------------------------------------------------------

  private moveTo(next: ListenState): void {
    if (!NEXT[this.state].includes(next)) this.broken(`transition ${this.state} -> ${next}`);
    this.state = next;
    this.check();
  }

  /** The invariants I1..I4, at every transition. A failure is a bug in this file, never a user error. */
  private check(): void {
    const { state, client, attempt, heartbeat, reconnectTimer } = this;
    const ok =
      state === 'connecting'
        ? attempt !== undefined && client === attempt.client && !heartbeat && !reconnectTimer
        : state === 'listening'
          ? client !== undefined && !attempt && heartbeat !== undefined && !reconnectTimer
          : state === 'lost'
            ? !client && !attempt && !heartbeat && reconnectTimer !== undefined
            : !client && !attempt && !heartbeat && !reconnectTimer;
    if (!ok) this.broken(`state ${state} with client=${!!client} attempt=${!!attempt}`);
  }

  private broken(what: string): never {
    throw new Error(
      `[apphook/postgresql] ListenConnection invariant broken (${what}); please report this bug`,
    );
  }

  /** To idle (last subscription gone) or closed: lets go of everything (I4). */
  private release(next: 'idle' | 'closed', error: ApphookError): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    attempt?.abort.abort();
    attempt?.reject(error);
    this.endClient();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.toldDown = false;
    this.failures = 0;
    this.moveTo(next);
  }

  /** Lets go of the client, stops its heartbeat, and ends it; close() awaits the end. */
  private endClient(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    client.removeAllListeners('error');
    client.on('error', noop); // late socket errors after end() must not become uncaught
    // pg ends politely (Terminate); a peer that no longer answers gets its socket destroyed instead (I4).
    const ended = raceTimeout(client.end(), 1000, 'end').catch(() => {
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    });
    this.ending.add(ended);
    void ended.finally(() => this.ending.delete(ended));
  }

  private startAttempt(initial: boolean): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = new pg.Client({
      keepAlive: true, // the OS notices a dead peer too; the heartbeat covers what keepalive cannot
      ...this.options.connection,
      // Named so operators (and tests) can find it in pg_stat_activity.
      application_name: `apphook-listen:${this.options.channel}`.slice(0, 63),
    });
    let resolve = noop;
    let reject: (error: unknown) => void = noop;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(noop); // only initial subscribers await it
    const attempt: Attempt = {
      client,
      initial,
      done,
      abort: new AbortController(),
      phase: 'connect',
      nonce: undefined,
      heard: noop,
      resolve,
      reject,
    };
    client.on('error', (error) => this.gone(client, error));
    client.on('end', () => this.gone(client, new Error('connection ended')));
    client.on('notification', (message) => {
      if (this.client === client) this.onNotification(message.channel, message.payload);
    });
    this.client = client;
    this.attempt = attempt;
    this.moveTo('connecting');
    void this.runAttempt(attempt);
  }

  private async runAttempt(attempt: Attempt): Promise<void> {
    const { client } = attempt;
    const current = () => this.attempt === attempt;
    const within = <T>(promise: Promise<T>, what: string) =>
      raceTimeout(promise, this.heartbeatMs, `${what} got no answer within ${this.heartbeatMs} ms`);
    try {
      await within(client.connect(), 'connecting');
    } catch (error) {
      if (current()) this.attemptFailed(attempt, unreachableError(client, error));
      return;
    }
    if (!current()) return;
    try {
      await within(client.query(`LISTEN ${pg.escapeIdentifier(this.options.channel)}`), 'LISTEN');
    } catch (error) {
      // A server error means it refused LISTEN (a pooler); anything else is the connection failing.
      const refused = typeof (error as { severity?: unknown }).severity === 'string';
      if (current()) {
        this.attemptFailed(
          attempt,
          refused ? listenFailedError(this.options.channel, error) : unreachableError(client, error),
        );
      }
      return;
    }
    if (!current()) return;
    attempt.phase = 'selftest';
    const heard = await this.selfTest(attempt);
    if (!current()) return; // dropped or released during the self-test: that path already decided (I3)
    this.attempt = undefined;
    this.startHeartbeat(client);
    this.moveTo('listening');
    this.failures = 0;
    if (!attempt.initial) this.counters.reconnects++;
    attempt.resolve();
    if (heard) {
      this.pushAvailable = true;
      if (this.toldDown) {
        // LISTEN is active again: everyone re-reads now, so commits made while we were away are not lost (G9).
        this.toldDown = false;
        this.lastError = undefined;
        for (const listener of this.allListeners()) listener.resync();
      }
      return;
    }
    const error = poolerError(
      this.options.channel,
      `receives nothing (a self-test notification did not arrive within ${this.selfTestTimeoutMs} ms)`,
    );
    if (this.pushAvailable) {
      this.pushAvailable = false;
      this.logger.warn(error.message);
    }
    this.markDown(error);
  }

  /**
   * A notification we send ourselves must come back. Behind PgBouncer in transaction mode LISTEN silently does
   * nothing; then we say so once and let the reloaders poll instead of pretending to be pushed. `false` also
   * when the attempt was abandoned, which the caller sees as no longer current (I3).
   */
  private selfTest(attempt: Attempt): Promise<boolean> {
    const nonce = randomUUID();
    attempt.nonce = nonce;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), this.selfTestTimeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        attempt.abort.signal.removeEventListener('abort', onAbort);
        attempt.nonce = undefined;
        resolve(ok);
      };
      const onAbort = () => finish(false);
      attempt.abort.signal.addEventListener('abort', onAbort);
      attempt.heard = () => finish(true);
      attempt.client
        .query('SELECT pg_notify($1, $2)', [this.options.channel, JSON.stringify({ selftest: nonce })])
        .catch(noop); // a failing query also ends the client: `gone` handles it
    });
  }

  private attemptFailed(attempt: Attempt, error: ApphookError): void {
    this.attempt = undefined;
    attempt.abort.abort();
    this.endClient();
    if (attempt.initial) {
      // Every listener is a subscribe() call waiting for this attempt: they reject and nothing stays open.
      this.listeners.clear();
      this.moveTo('idle');
      attempt.reject(error);
      return;
    }
    this.logger.debug?.('[apphook/postgresql] reconnect failed', { error });
    this.markDown(error);
    this.scheduleReconnect();
    attempt.resolve();
  }

  /** The client reported an error or its end: fatal for the LISTEN session (I1: only the current client counts). */
  private gone(client: Client, cause: unknown): void {
    if (this.client !== client) return;
    const error = lostError(cause);
    if (this.attempt) {
      // While connecting or LISTENing, the awaited call rejects (or times out) and runAttempt decides, with
      // the message that tells an unreachable server from a pooler; the self-test awaits nothing of the client.
      if (this.attempt.phase === 'selftest') this.attemptFailed(this.attempt, error);
      return;
    }
    this.endClient();
    this.markDown(error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.failures++;
    const delay = backoffDelay(this.failures, this.reconnectBaseMs, this.reconnectMaxMs);
    const timer = setTimeout(() => {
      if (this.reconnectTimer !== timer) return;
      this.reconnectTimer = undefined;
      this.startAttempt(false);
    }, delay);
    timer.unref?.();
    this.reconnectTimer = timer;
    this.moveTo('lost');
  }

  private startHeartbeat(client: Client): void {
    let pinging = false;
    const timer = setInterval(() => {
      if (this.client !== client || pinging) return;
      pinging = true;
      raceTimeout(
        client.query('SELECT 1'),
        this.heartbeatMs,
        `heartbeat got no answer within ${this.heartbeatMs} ms`,
      )
        .then(noop, (error: unknown) => this.gone(client, error))
        .finally(() => {
          pinging = false;
        });
    }, this.heartbeatMs);
    timer.unref?.();
    this.heartbeat = timer;
  }

  private markDown(error: ApphookError): void {
    this.lastError = error;
    if (this.toldDown) return;
    this.toldDown = true;
    for (const listener of this.allListeners()) listener.down(error);
  }

  private onNotification(channel: string, payload: string | undefined): void {
    if (channel !== this.options.channel) return;
    const parsed = parsePayload(payload, this.maxPayloadBytes);
    if (parsed.kind === 'selftest' && parsed.nonce === this.attempt?.nonce) {
      this.attempt.heard();
      return;
    }
    const listeners = parsed.kind === 'hint' ? this.listeners.get(parsed.scope) : undefined;
    if (!listeners || parsed.kind !== 'hint') {
      this.counters.ignored++;
      return;
    }
    this.counters.notifications++;
    for (const listener of [...listeners]) listener.hint(parsed.scope);
  }

  private allListeners(): HintListener[] {
    return [...this.listeners.values()].flatMap((set) => [...set]);
  }
}
