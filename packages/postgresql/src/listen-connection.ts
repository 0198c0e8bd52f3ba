import { randomUUID } from 'node:crypto';
import {
  ApphookError,
  backoffDelay,
  createLogger,
  type HintListener,
  isValidScope,
  type Logger,
  type Subscription,
} from '@apphook/core';
import pg from 'pg';

export interface ListenConnectionOptions {
  /** How to connect: the same settings the ORM uses (see `pgConfigFromOrm`). */
  connection: pg.ClientConfig;
  /** The NOTIFY channel. */
  channel: string;
  /**
   * A `SELECT 1` every this many ms notices a connection that died silently (a NAT or firewall dropping it).
   * @default 15000
   */
  heartbeatMs?: number;
  /**
   * How long to wait for the self-test notification after LISTEN; if it never arrives (a pooler in transaction
   * mode), push is reported unavailable once and reloaders poll.
   * @default 3000
   */
  selfTestTimeoutMs?: number;
  /** First reconnect delay; doubles up to `reconnectMaxMs`. @default 250 */
  reconnectBaseMs?: number;
  /** @default 10000 */
  reconnectMaxMs?: number;
  /** Payloads longer than this are ignored and counted (G10). @default 1024 */
  maxPayloadBytes?: number;
  logger?: Logger | false;
}

export interface ListenStats {
  listening: boolean;
  notifications: number;
  ignored: number;
  reconnects: number;
  /** `false` when the self-test showed that LISTEN cannot work through this connection. */
  pushAvailable: boolean;
}

type Client = InstanceType<typeof pg.Client>;

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
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private down = false;
  private closed = false;
  private selfTest: { nonce: string; resolve: () => void } | undefined;
  private readonly counters = { notifications: 0, ignored: 0, reconnects: 0 };
  private pushAvailable = true;
  private lastError: ApphookError | undefined;

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
      listening: this.client !== undefined && !this.down,
      ...this.counters,
      pushAvailable: this.pushAvailable,
    };
  }

  /** Resolves once LISTEN is active, so a read made afterwards cannot miss a commit. */
  async subscribe(scope: string, listener: HintListener): Promise<Subscription> {
    if (this.closed) {
      throw new ApphookError('E_STATE', '[apphook/postgresql] the store was closed; create a new store');
    }
    let set = this.listeners.get(scope);
    if (!set) {
      set = new Set();
      this.listeners.set(scope, set);
    }
    set.add(listener);
    const joining = this.client !== undefined;
    try {
      if (!joining) await this.ensureConnected();
    } catch (error) {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(scope);
      await this.closeIfUnused();
      throw error;
    }
    // A late subscriber to a connection that is down must poll too, not wait for a push that cannot come.
    if (joining && this.down && this.lastError) listener.down(this.lastError);
    let open = true;
    return {
      close: async () => {
        if (!open) return;
        open = false;
        set.delete(listener);
        if (set.size === 0 && this.listeners.get(scope) === set) this.listeners.delete(scope);
        await this.closeIfUnused();
      },
    };
  }

  /** Closes the connection and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.teardown();
  }

  private async closeIfUnused(): Promise<void> {
    if (this.listeners.size === 0) await this.teardown();
  }

  private async teardown(): Promise<void> {
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnectTimer);
    this.heartbeat = undefined;
    this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    this.down = false;
    if (client) {
      client.removeAllListeners('notification');
      client.removeAllListeners('end');
      client.on('error', () => {}); // late socket errors after end() must not become uncaught
      await client.end().catch(() => {});
    }
  }

  private ensureConnected(): Promise<void> {
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    // Named so operators (and tests) can find it in pg_stat_activity.
    const client = new pg.Client({
      ...this.options.connection,
      application_name: `apphook-listen:${this.options.channel}`.slice(0, 63),
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (message) => this.onNotification(message.channel, message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.options.channel)}`);
    } catch (error) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw new ApphookError(
        'E_CONNECTION',
        `[apphook/postgresql] could not LISTEN on "${this.options.channel}": ${error instanceof Error ? error.message : String(error)}; check the connection settings, or use mode 'interval'`,
        { cause: error },
      );
    }
    if (this.closed || this.listeners.size === 0) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.startHeartbeat(client);
    await this.runSelfTest(client);
  }

  /**
   * A notification we send ourselves must come back. Behind PgBouncer in transaction mode LISTEN silently does
   * nothing; then we say so once and let the reloaders poll instead of pretending to be pushed.
   */
  private async runSelfTest(client: Client): Promise<void> {
    const nonce = randomUUID();
    const arrived = new Promise<void>((resolve) => {
      this.selfTest = { nonce, resolve };
    });
    await client
      .query('SELECT pg_notify($1, $2)', [this.options.channel, JSON.stringify({ selftest: nonce })])
      .catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      arrived.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.selfTestTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.selfTest = undefined;
    if (ok) {
      this.pushAvailable = true;
      return;
    }
    if (this.pushAvailable) {
      this.pushAvailable = false;
      const error = new ApphookError(
        'E_CONNECTION',
        `[apphook/postgresql] LISTEN on "${this.options.channel}" receives nothing (a self-test notification did not arrive within ${this.selfTestTimeoutMs} ms). A pooler in transaction mode (PgBouncer) cannot carry LISTEN: give the store a direct connection (listenConnection option). Reloaders fall back to polling.`,
      );
      this.logger.warn(error.message);
      this.markDown(error);
    }
  }

  private startHeartbeat(client: Client): void {
    clearInterval(this.heartbeat);
    const timer = setInterval(() => {
      if (this.client !== client) return;
      let answered = false;
      const deadline = setTimeout(() => {
        if (!answered) this.lost(client, new Error(`heartbeat got no answer within ${this.heartbeatMs} ms`));
      }, this.heartbeatMs);
      deadline.unref?.();
      client.query('SELECT 1').then(
        () => {
          answered = true;
          clearTimeout(deadline);
        },
        (error: unknown) => {
          answered = true;
          clearTimeout(deadline);
          this.lost(client, error);
        },
      );
    }, this.heartbeatMs);
    timer.unref?.();
    this.heartbeat = timer;
  }

  private onNotification(channel: string, payload: string | undefined): void {
    if (channel !== this.options.channel) return;
    if (payload === undefined || payload.length > this.maxPayloadBytes) {
      this.counters.ignored++;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      this.counters.ignored++;
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      this.counters.ignored++;
      return;
    }
    const record = parsed as Record<string, unknown>;
    if (this.selfTest && record.selftest === this.selfTest.nonce) {
      this.selfTest.resolve();
      return;
    }
    const scope = record.scope;
    if (!isValidScope(scope) || !this.listeners.has(scope)) {
      this.counters.ignored++;
      return;
    }
    this.counters.notifications++;
    // Only the scope is used: the version in the payload is never trusted (G10).
    for (const listener of [...(this.listeners.get(scope) ?? [])]) listener.hint(scope);
  }

  private lost(client: Client, error: unknown): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    client.on('error', () => {});
    void client.end().catch(() => {});
    this.markDown(
      new ApphookError(
        'E_CONNECTION',
        `[apphook/postgresql] the LISTEN connection was lost (${error instanceof Error ? error.message : String(error)}); reconnecting, reloaders poll meanwhile`,
        { cause: error },
      ),
    );
    this.scheduleReconnect();
  }

  private markDown(error: ApphookError): void {
    this.lastError = error;
    if (this.down) return;
    this.down = true;
    for (const listener of this.allListeners()) listener.down(error);
  }

  private scheduleReconnect(): void {
    if (this.closed || this.listeners.size === 0 || this.reconnectTimer) return;
    this.attempt++;
    const delay = backoffDelay(this.attempt, this.reconnectBaseMs, this.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.ensureConnected().then(
        () => {
          if (!this.client) return;
          this.counters.reconnects++;
          // LISTEN is active again: everyone re-reads now, so commits made while we were away are not lost (G9).
          // Without a working LISTEN (self-test failed) the reloaders stay on fast polling.
          if (!this.pushAvailable) return;
          this.down = false;
          for (const listener of this.allListeners()) listener.resync();
        },
        (error: unknown) => {
          this.logger.debug?.('[apphook/postgresql] reconnect failed', { error });
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.reconnectTimer.unref?.();
  }

  private allListeners(): HintListener[] {
    return [...this.listeners.values()].flatMap((set) => [...set]);
  }
}
