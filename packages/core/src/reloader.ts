import type {
  HintListener,
  Notifier,
  ReloaderLink,
  ReloaderMode,
  Subscription,
  TokenStore,
  Version,
} from './contracts.js';
import { buildEnded, buildStarted, errorReported, hintReceived } from './diagnostics.js';
import { Emitter } from './emitter.js';
import { ApphookError, ApphookRebuildError, toApphookError } from './errors.js';
import { createLogger } from './logger.js';
import { type ReloaderOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { ErrorPhase, Reloader, ReloaderEvents, ReloaderStats } from './reloader-types.js';
import { SharedRead } from './shared-read.js';
import { backoffDelay, raceTimeout, unrefTimer } from './timing.js';

type State = 'idle' | 'starting' | 'running' | 'stopped';

let nextId = 0;
const notifierIds = new WeakMap<Notifier, number>();
function notifierId(notifier: Notifier): number {
  let id = notifierIds.get(notifier);
  if (id === undefined) {
    id = ++nextId;
    notifierIds.set(notifier, id);
  }
  return id;
}

/**
 * Creates the reloader of one scope. Options are validated at once: a bad one throws an
 * `ApphookOptionError` that says what to pass instead (G11).
 */
export function createReloader<R, Tx>(options: ReloaderOptions<R, Tx>): Reloader<R, Tx> {
  return new ReloaderImpl(options, resolveOptions(options as ReloaderOptions<unknown, unknown>));
}

class ReloaderImpl<R, Tx> implements Reloader<R, Tx> {
  readonly scope: string;
  readonly mode: ReloaderMode;
  private readonly id = ++nextId;
  private readonly store: TokenStore<Tx>;
  private readonly notifier: Notifier | undefined;
  private readonly opts: ResolvedOptions;
  private readonly logger;
  private readonly events: Emitter<ReloaderEvents>;
  private readonly link: ReloaderLink;
  private readonly binding;

  private state: State = 'idle';
  private served: Version | undefined;
  private built: R | undefined;
  /** Highest committed version observed; builds chase it, one at a time (G8). */
  private target: Version = -1;
  private building: Promise<void> | undefined;
  private buildAbort: AbortController | undefined;
  private failStreak = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private subscriptions: Subscription[] = [];
  private readonly channelsDown = new Set<string>();
  private readonly reads: SharedRead;
  private waiters: Array<{ version: Version; wake: () => void }> = [];
  private readyWaiters: Array<() => void> = [];
  private readonly counters = { checks: 0, reads: 0, reloads: 0, failures: 0, hints: 0 };
  private lastCheckAt: number | undefined;
  private lastReloadAt: number | undefined;
  private lastBuildMs: number | undefined;
  private lastError: ReloaderStats['lastError'];

  constructor(options: ReloaderOptions<R, Tx>, resolved: ResolvedOptions) {
    this.opts = resolved;
    this.scope = resolved.scope;
    this.mode = resolved.mode;
    this.store = options.store;
    this.notifier = options.notifier;
    this.binding = options.binding;
    this.logger = createLogger(options.logger);
    this.events = new Emitter<ReloaderEvents>(this.logger);
    const self = this;
    this.link = {
      scope: this.scope,
      mode: this.mode,
      get version() {
        return self.served;
      },
      check: () => this.check(),
      ready: (timeoutMs) => this.ready(timeoutMs),
    };
    this.reads = new SharedRead(() => this.readOnce());
    this.binding.attach?.(this.link);
  }

  get version(): Version | undefined {
    return this.served;
  }

  get current(): R | undefined {
    return this.built;
  }

  on<K extends keyof ReloaderEvents>(event: K, listener: (event: ReloaderEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof ReloaderEvents>(event: K, listener: (event: ReloaderEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  stats(): ReloaderStats {
    return {
      scope: this.scope,
      mode: this.mode,
      version: this.served,
      latestSeen: this.target < 0 ? undefined : this.target,
      ...this.counters,
      channelsHealthy: this.channelsDown.size === 0,
      lastCheckAt: this.lastCheckAt,
      lastReloadAt: this.lastReloadAt,
      lastBuildMs: this.lastBuildMs,
      lastError: this.lastError,
    };
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') {
      throw new ApphookError(
        'E_STATE',
        `[apphook/core] reloader of scope '${this.scope}' is ${this.state}; start() runs once per reloader (create a new one after stop())`,
      );
    }
    this.state = 'starting';
    try {
      // Listen first, then read: a commit between the two is caught by the read (G9).
      if (this.mode !== 'interval') await this.subscribeChannels();
      let version: Version;
      this.counters.reads++;
      try {
        version = this.validVersion(
          await raceTimeout(
            this.store.read(this.scope),
            this.opts.readTimeoutMs,
            `[apphook/core] reading the version of scope '${this.scope}' from ${this.store.name} took over ${this.opts.readTimeoutMs} ms`,
          ),
        );
      } catch (error) {
        throw toApphookError(
          error,
          'E_CONNECTION',
          `[apphook/core] start(): could not read the version of scope '${this.scope}' from ${this.store.name}; check that the database is reachable and the token table exists`,
        );
      }
      this.raiseTarget(version);
      await this.firstBuild(this.target);
    } catch (error) {
      await this.closeSubscriptions();
      if (this.state === 'starting') this.state = 'idle';
      throw error;
    }
    if (this.state !== 'starting') return; // stop() was called meanwhile
    this.state = 'running';
    this.schedulePoll();
    this.kick(); // hints that arrived during start may have raised the target
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.pollTimer = undefined;
    this.retryTimer = undefined;
    this.buildAbort?.abort(
      new ApphookError('E_STATE', `[apphook/core] reloader of scope '${this.scope}' stopped`),
    );
    await this.closeSubscriptions();
    this.binding.detach?.(this.link);
    this.settleWaiters(Number.POSITIVE_INFINITY);
    for (const wake of this.readyWaiters.splice(0)) wake();
    await this.building?.catch(() => {});
  }

  async markChanged(tx: Tx): Promise<Version> {
    if (this.state === 'stopped') {
      throw new ApphookError(
        'E_STATE',
        `[apphook/core] markChanged() on the stopped reloader of scope '${this.scope}'; bump through a running reloader`,
      );
    }
    const version = this.validVersion(await this.store.bump(tx, this.scope));
    const { store, notifier } = this;
    if (store.afterCommit) {
      if (notifier) {
        // Keyed per notifier and scope: one publish per root transaction however many bumps (G2).
        store.afterCommit(tx, () => this.publish(notifier, version), {
          key: `apphook:publish:${notifierId(notifier)}:${this.scope}`,
        });
      }
      store.afterCommit(tx, () => this.afterOwnCommit(version), { key: `apphook:check:${this.id}` });
    }
    return version;
  }

  async check(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting') return;
    this.counters.checks++;
    this.lastCheckAt = Date.now();
    let version: Version | undefined;
    if (
      this.opts.minCheckIntervalMs > 0 &&
      Date.now() - this.reads.lastStartedAt < this.opts.minCheckIntervalMs
    ) {
      version = this.reads.lastValue;
    } else {
      version = await this.reads.fresh();
    }
    if (version !== undefined) await this.untilSettled(version);
  }

  // --- reads ---------------------------------------------------------------------------------------------

  /** One store read with a deadline; failures are reported and give `undefined` (the next poll retries). */
  private readOnce(): Promise<Version | undefined> {
    if (this.state === 'stopped') return Promise.resolve(undefined);
    this.counters.reads++;
    return raceTimeout(
      this.store.read(this.scope),
      this.opts.readTimeoutMs,
      `[apphook/core] reading the version of scope '${this.scope}' from ${this.store.name} took over ${this.opts.readTimeoutMs} ms`,
    )
      .then((raw) => {
        const version = this.validVersion(raw);
        this.raiseTarget(version);
        return version;
      })
      .catch((error: unknown) => {
        this.report('read', error, `could not read the version from ${this.store.name}; will retry`);
        return undefined;
      });
  }

  private validVersion(raw: unknown): Version {
    const version = typeof raw === 'bigint' || typeof raw === 'string' ? Number(raw) : raw;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
      throw new ApphookError(
        'E_STORE',
        `[apphook/core] ${this.store.name} returned ${String(raw)} as the version of '${this.scope}'; a version is a non-negative safe integer`,
      );
    }
    return version;
  }

  // --- builds --------------------------------------------------------------------------------------------

  private raiseTarget(version: Version): void {
    if (version > this.target) this.target = version;
    this.kick();
  }

  /** Starts a build when one is due; single-flight, and never during a retry backoff (G5, G8). */
  private kick(): void {
    if (this.state !== 'running' || this.building || this.retryTimer) return;
    if (this.served !== undefined && this.target <= this.served) {
      this.settleWaiters(this.served);
      return;
    }
    this.building = this.runBuild(this.target);
  }

  private async firstBuild(version: Version): Promise<void> {
    try {
      await this.build(version);
    } catch (error) {
      const cause = error instanceof ApphookError ? error : undefined;
      throw new ApphookRebuildError(
        cause?.code === 'E_TIMEOUT' ? 'E_TIMEOUT' : 'E_REBUILD',
        `[apphook/core] start(): the first build of scope '${this.scope}' (version ${version}) failed, and there are no earlier routes to fall back to: ${error instanceof Error ? error.message : String(error)}`,
        version,
        { cause: error },
      );
    }
  }

  private async runBuild(version: Version): Promise<void> {
    try {
      await this.build(version);
      this.failStreak = 0;
    } catch (error) {
      if (this.state !== 'running') return;
      this.failStreak++;
      this.counters.failures++;
      const code = error instanceof ApphookError && error.code === 'E_TIMEOUT' ? 'E_TIMEOUT' : 'E_REBUILD';
      const wrapped = new ApphookRebuildError(
        code,
        `[apphook/core] rebuilding scope '${this.scope}' for version ${version} failed; still serving version ${this.served}, retrying with backoff: ${error instanceof Error ? error.message : String(error)}`,
        version,
        { cause: error },
      );
      this.report('rebuild', wrapped);
      const delay = backoffDelay(this.failStreak, this.opts.retryBaseMs, this.opts.retryMaxMs);
      this.retryTimer = unrefTimer(
        setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, delay),
      );
      // Requests waiting for this version keep the last good routes instead of waiting out the backoff.
      this.settleWaiters(version);
    } finally {
      this.building = undefined;
      this.buildAbort = undefined;
    }
    // A version that arrived during the build triggers exactly one more (G8).
    this.kick();
  }

  /** Builds `version` and swaps it in unless something newer already serves (G3). */
  private async build(version: Version): Promise<void> {
    const controller = new AbortController();
    this.buildAbort = controller;
    const started = performance.now();
    const from = this.served;
    const trace = buildStarted(this.scope, version, from);
    const routes = await raceTimeout(
      Promise.resolve().then(() =>
        this.binding.rebuild({ version, scope: this.scope, signal: controller.signal, previous: from }),
      ),
      this.opts.rebuildTimeoutMs,
      `rebuildRoutes for version ${version} took over ${this.opts.rebuildTimeoutMs} ms (rebuildTimeoutMs)`,
      controller.signal,
    ).catch((error: unknown) => {
      buildEnded(trace, error);
      // Tell a still-running rebuildRoutes to give up; its late result is ignored.
      if (!controller.signal.aborted) controller.abort(error);
      throw error;
    });
    buildEnded(trace);
    if (this.state === 'stopped') return;
    if (this.served !== undefined && version <= this.served) return;
    this.binding.swap(routes, { version, scope: this.scope });
    this.served = version;
    this.built = routes;
    this.counters.reloads++;
    this.lastReloadAt = Date.now();
    const durationMs = performance.now() - started;
    this.lastBuildMs = durationMs;
    this.settleWaiters(version);
    for (const wake of this.readyWaiters.splice(0)) wake();
    this.events.emit('reload', { scope: this.scope, from, to: version, durationMs });
  }

  /** Resolves when `version` (or later) serves, or when its build failed and the old routes stay (G5). */
  private untilSettled(version: Version): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    if (this.served !== undefined && this.served >= version) return Promise.resolve();
    if (this.retryTimer && !this.building) return Promise.resolve();
    return new Promise((wake) => {
      this.waiters.push({ version, wake });
      this.kick();
    });
  }

  private settleWaiters(upTo: Version): void {
    if (this.waiters.length === 0) return;
    const keep: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.version <= upTo) waiter.wake();
      else keep.push(waiter);
    }
    this.waiters = keep;
  }

  private ready(timeoutMs: number): Promise<boolean> {
    if (this.served !== undefined) return Promise.resolve(true);
    if (this.state === 'stopped' || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(this.served !== undefined);
      };
      this.readyWaiters.push(wake);
    });
  }

  // --- after commit --------------------------------------------------------------------------------------

  private publish(notifier: Notifier, version: Version): void {
    // Not awaited: a slow or offline channel must not delay the caller's resolved commit; the safety poll
    // recovers a publish that never arrives (G2, G9).
    Promise.resolve()
      .then(() => notifier.publish(this.scope, version))
      .catch((error: unknown) =>
        this.report('publish', error, `publishing version ${version} through ${notifier.name} failed`),
      );
  }

  private async afterOwnCommit(version: Version): Promise<void> {
    // The bump is committed now, so a build started from here reads it (G4): no store read needed.
    this.raiseTarget(version);
    await this.untilSettled(version);
  }

  // --- channels and polling ------------------------------------------------------------------------------

  private async subscribeChannels(): Promise<void> {
    const channels: Array<[string, (listener: HintListener) => Promise<Subscription>]> = [];
    const { store, notifier } = this;
    if (store.subscribe) channels.push([store.name, (l) => store.subscribe!(this.scope, l)]);
    if (notifier) channels.push([notifier.name, (l) => notifier.subscribe(this.scope, l)]);
    for (const [name, subscribe] of channels) {
      try {
        this.subscriptions.push(await subscribe(this.listenerFor(name)));
      } catch (error) {
        throw toApphookError(
          error,
          'E_CONNECTION',
          `[apphook/core] start(): subscribing scope '${this.scope}' through ${name} failed; check the server is reachable, or choose mode 'interval'`,
        );
      }
    }
  }

  private listenerFor(channel: string): HintListener {
    return {
      hint: (scope) => {
        // A hint only ever triggers a coalesced read; it never sets a version (G10).
        if (scope !== this.scope || this.state === 'stopped') return;
        this.counters.hints++;
        hintReceived(this.scope);
        void this.reads.fresh();
      },
      resync: () => {
        if (this.state === 'stopped') return;
        this.channelsDown.delete(channel);
        void this.reads.fresh();
        this.schedulePoll();
      },
      down: (error) => {
        if (this.state === 'stopped') return;
        const first = !this.channelsDown.has(channel);
        this.channelsDown.add(channel);
        if (first) {
          this.report(
            'channel',
            error,
            `${channel} is down; polling every ${this.opts.intervalMs} ms until it is back`,
          );
          this.schedulePoll();
        }
      },
    };
  }

  private async closeSubscriptions(): Promise<void> {
    const subscriptions = this.subscriptions.splice(0);
    const results = await Promise.allSettled(subscriptions.map((s) => s.close()));
    for (const result of results) {
      if (result.status === 'rejected')
        this.report('subscribe', result.reason, 'closing a subscription failed');
    }
  }

  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    if (this.state !== 'running') return;
    const fast = this.mode === 'interval' || this.channelsDown.size > 0;
    const base = fast ? this.opts.intervalMs : this.opts.safetyIntervalMs;
    const delay = base + Math.random() * this.opts.jitterMs;
    this.pollTimer = unrefTimer(
      setTimeout(() => {
        this.pollTimer = undefined;
        void this.reads.fresh().finally(() => this.schedulePoll());
      }, delay),
    );
  }

  private report(phase: ErrorPhase, error: unknown, message?: string): void {
    const wrapped =
      error instanceof ApphookError && !message
        ? error
        : toApphookError(
            error,
            phase === 'read' || phase === 'channel' || phase === 'publish' ? 'E_CONNECTION' : 'E_REBUILD',
            `[apphook/core] scope '${this.scope}': ${message ?? phase}`,
          );
    this.logger.warn(wrapped.message, { scope: this.scope, phase });
    this.lastError = { phase, code: wrapped.code, message: wrapped.message, at: Date.now() };
    errorReported({ scope: this.scope, phase, error: wrapped });
    this.events.emit('error', { scope: this.scope, phase, error: wrapped });
  }
}
