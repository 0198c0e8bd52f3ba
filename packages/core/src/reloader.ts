import { BuildScheduler, type BuiltVersion } from './build-scheduler.js';
import type { Notifier, ReloaderLink, ReloaderMode, TokenStore, Version } from './contracts.js';
import { errorReported, hintReceived } from './diagnostics.js';
import { Emitter } from './emitter.js';
import { ApphookError, toApphookError } from './errors.js';
import { createLogger } from './logger.js';
import { type ReloaderOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { PublishCoalescing } from './publish-coalescing.js';
import { buildVersion, firstBuildError, rebuildFailedError, stoppedDuringStart } from './reloader-build.js';
import { ReloaderChannels } from './reloader-channels.js';
import type { ErrorPhase, Reloader, ReloaderEvents, ReloaderStats } from './reloader-types.js';
import { SharedRead } from './shared-read.js';
import { attempt, raceTimeout, unlessAborted } from './timing.js';

/*
 * The reloader of one scope: its lifecycle, reads and after-commit work. When to build and who waits for what
 * live in the BuildScheduler (build-scheduler.ts, invariants S1..S7); push channels and polls in
 * ReloaderChannels. Lifecycle invariants (G12), enforced here and checked by test/model.test.ts:
 *
 * L1 idle -> starting -> running -> stopped, or starting -> idle when start() fails; stopped is final.
 * L2 start() settles exactly once: resolved only if the first build serves and stop() was not called; rejected
 *    with E_STOPPED if stop() came first, whatever was in flight; otherwise with the cause (E_CONNECTION, E_REBUILD).
 * L3 After `await stop()`: no subscription, timer or waiter of this reloader remains and no build runs; a
 *    subscription that was still being opened is closed the moment it arrives.
 */

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
  private readonly scheduler: BuildScheduler;
  private readonly reads: SharedRead;
  private readonly channels: ReloaderChannels;
  /** One notifier publish per `minPublishIntervalMs` in a burst of this process's commits (C1..C5). */
  private readonly publishing: PublishCoalescing | undefined;

  private state: State = 'idle';
  private built: R | undefined;
  /** Aborted by stop(): cuts short whatever start() awaits (L2). */
  private startAbort: AbortController | undefined;
  private starting: Promise<unknown> | undefined;
  private stopping: Promise<void> | undefined;
  private warnedNotStarted = false;
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
    this.scheduler = new BuildScheduler({
      build: (target, controller) => this.build(target, controller),
      failed: (error, target, first) => this.buildFailed(error, target, first),
      read: () => void this.reads.fresh(),
      snapshotBuilds: options.store.readSnapshot !== undefined,
      pacing: {
        minMs: resolved.minRebuildIntervalMs,
        maxMs: resolved.maxRebuildIntervalMs,
        quietMs: resolved.stormQuietMs,
        leading: resolved.leadingRebuild,
      },
      retryBaseMs: resolved.retryBaseMs,
      retryMaxMs: resolved.retryMaxMs,
    });
    this.reads = new SharedRead(() => this.readOnce());
    const { notifier } = options;
    this.publishing = notifier
      ? new PublishCoalescing(resolved.minPublishIntervalMs, (version) => this.publish(notifier, version))
      : undefined;
    this.channels = new ReloaderChannels({
      store: this.store,
      notifier: this.notifier,
      scope: this.scope,
      mode: this.mode,
      options: resolved,
      read: () => this.reads.fresh(),
      lastReadStartedAt: () => this.reads.lastStartedAt,
      isRunning: () => this.state === 'running',
      onHint: () => {
        this.counters.hints++;
        this.scheduler.hinted();
        hintReceived(this.scope);
      },
      absorbHint: () => this.scheduler.absorbHint(),
      report: (phase, error, message) => this.report(phase, error, message),
    });
    const self = this;
    this.link = {
      scope: this.scope,
      mode: this.mode,
      get version() {
        return self.scheduler.served;
      },
      check: () => this.check(),
      ready: (timeoutMs) => this.ready(timeoutMs),
    };
    this.binding.attach?.(this.link);
  }

  get version(): Version | undefined {
    return this.scheduler.served;
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
      version: this.scheduler.served,
      latestSeen: this.scheduler.target,
      ...this.counters,
      coalescedPublishes: this.publishing?.coalesced ?? 0,
      channelsHealthy: this.channels.healthy,
      lastCheckAt: this.lastCheckAt,
      lastReloadAt: this.lastReloadAt,
      lastBuildMs: this.lastBuildMs,
      lastError: this.lastError,
    };
  }

  start(): Promise<void> {
    if (this.state !== 'idle') {
      return Promise.reject(
        new ApphookError(
          'E_STATE',
          `[apphook/core] reloader of scope '${this.scope}' is ${this.state}; start() runs once per reloader (create a new one after stop())`,
        ),
      );
    }
    this.state = 'starting';
    const abort = new AbortController();
    this.startAbort = abort;
    const task = this.startUp(abort.signal);
    this.starting = task.catch(() => {});
    return task;
  }

  private async startUp(signal: AbortSignal): Promise<void> {
    try {
      // Listen first, then read: a commit between the two is caught by the read (G9).
      if (this.mode !== 'interval') await this.channels.subscribe(signal);
      const version = await this.readFirst(signal);
      this.scheduler.raise(version);
      this.scheduler.run();
      const result = await this.scheduler.waitFor(version, { acceptFailure: true });
      if (result.kind === 'failed') throw firstBuildError(this.scope, version, result.error);
      if (result.kind !== 'served') throw this.stoppedError();
      // stop() may have been called after the first build served; then state is 'stopped' already.
      if (this.state !== 'starting') throw this.stoppedError();
    } catch (error) {
      const stopped = this.state === 'stopped';
      await this.channels.close();
      if (stopped)
        throw error instanceof ApphookError && error.code === 'E_STOPPED' ? error : this.stoppedError(error);
      this.scheduler.pause(error);
      this.state = 'idle';
      throw error;
    }
    this.state = 'running';
    this.channels.schedulePoll();
  }

  private async readFirst(signal: AbortSignal): Promise<Version> {
    this.counters.reads++;
    try {
      return this.validVersion(
        await unlessAborted(
          raceTimeout(
            attempt(() => this.store.read(this.scope)),
            this.opts.readTimeoutMs,
            `[apphook/core] reading the version of scope '${this.scope}' from ${this.store.name} took over ${this.opts.readTimeoutMs} ms`,
          ),
          signal,
        ),
      );
    } catch (error) {
      if (signal.aborted) throw this.stoppedError();
      throw toApphookError(
        error,
        'E_CONNECTION',
        `[apphook/core] start(): could not read the version of scope '${this.scope}' from ${this.store.name}; check that the database is reachable and the token table exists`,
      );
    }
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.state = 'stopped';
    this.startAbort?.abort(this.stoppedError());
    this.stopping = this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.publishing?.close(); // a held-back publish goes out now, and later commits publish at once (C5)
    const building = this.scheduler.stop(
      new ApphookError('E_STATE', `[apphook/core] reloader of scope '${this.scope}' stopped`),
    );
    await this.channels.close();
    this.binding.detach?.(this.link);
    await this.starting; // start()'s own cleanup (L3)
    await building;
  }

  async markChanged(tx: Tx): Promise<Version> {
    if (this.state === 'stopped') {
      throw new ApphookError(
        'E_STATE',
        `[apphook/core] markChanged() on the stopped reloader of scope '${this.scope}'; bump through a running reloader`,
      );
    }
    const version = this.validVersion(await this.store.bump(tx, this.scope));
    const { store, notifier, publishing } = this;
    if (store.afterCommit) {
      if (notifier && publishing) {
        // Keyed per notifier and scope: one publish per root transaction however many bumps (G2), and in a
        // burst of commits one per minPublishIntervalMs (publish-coalescing.ts).
        store.afterCommit(tx, () => publishing.committed(version), {
          key: `apphook:publish:${notifierId(notifier)}:${this.scope}`,
        });
      }
      const ranAtOnce: { done?: Promise<void> } = {};
      store.afterCommit(
        tx,
        () => {
          ranAtOnce.done = this.afterOwnCommit(version);
          return ranAtOnce.done;
        },
        { key: `apphook:check:${this.id}` },
      );
      // A handle in no transaction committed already and ran the hook at once: resolve only once this process
      // serves the bump, as in a transaction (issue 13 item 6).
      if (ranAtOnce.done) await ranAtOnce.done;
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
    if (version !== undefined && (this.state as State) !== 'stopped') {
      // The caller (a request in 'request' mode) waits for this version: no spacing (S5).
      this.scheduler.raise(version, true);
      await this.scheduler.waitFor(version, { acceptFailure: true });
    }
  }

  /** One store read with a deadline; failures are reported and give `undefined` (the next poll retries). */
  private readOnce(): Promise<Version | undefined> {
    if (this.state === 'stopped') return Promise.resolve(undefined);
    this.counters.reads++;
    return raceTimeout(
      attempt(() => this.store.read(this.scope)), // a store that throws synchronously must not crash a timer
      this.opts.readTimeoutMs,
      `[apphook/core] reading the version of scope '${this.scope}' from ${this.store.name} took over ${this.opts.readTimeoutMs} ms`,
    )
      .then((raw) => {
        const version = this.validVersion(raw);
        this.scheduler.raise(version);
        return version;
      })
      .catch((error: unknown) => {
        if (this.state !== 'stopped') {
          this.report('read', error, `could not read the version from ${this.store.name}; will retry`);
        }
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

  private build(target: Version, controller: AbortController): Promise<BuiltVersion> {
    const from = this.scheduler.served;
    return buildVersion({
      store: this.store,
      binding: this.binding,
      scope: this.scope,
      rebuildTimeoutMs: this.opts.rebuildTimeoutMs,
      target,
      from,
      controller,
      validVersion: (raw) => this.validVersion(raw),
      swapped: (routes, label, durationMs) => {
        this.built = routes;
        this.counters.reloads++;
        this.lastReloadAt = Date.now();
        this.lastBuildMs = durationMs;
        this.events.emit('reload', { scope: this.scope, from, to: label, durationMs });
      },
    });
  }

  private buildFailed(error: unknown, version: Version, first: boolean): void {
    if (first) return; // start() rejects with it: there are no earlier routes to fall back to
    this.counters.failures++;
    this.report('rebuild', rebuildFailedError(this.scope, version, this.scheduler.served, error));
  }

  private stoppedError(cause?: unknown): ApphookError {
    return stoppedDuringStart(this.scope, cause);
  }

  private async ready(timeoutMs: number): Promise<boolean> {
    const result = await this.scheduler.waitFor(0, { timeoutMs });
    if (result.kind === 'timeout' && this.state === 'idle' && !this.warnedNotStarted) {
      // Requests are answered 503 until the first build: say why, once (issue 12 item 5).
      this.warnedNotStarted = true;
      this.logger.warn(
        `[apphook/core] requests are waiting for the routes of scope '${this.scope}', but reloader.start() was never called; they get 503 until it is: call \`await reloader.start()\` at startup`,
        { scope: this.scope },
      );
    }
    return result.kind === 'served';
  }

  private publish(notifier: Notifier, version: Version): void {
    // Not awaited: a slow or offline channel must not delay the caller's resolved commit; the safety poll
    // recovers a publish that never arrives (G2, G9).
    attempt(() => notifier.publish(this.scope, version)).catch((error: unknown) =>
      this.report('publish', error, `publishing version ${version} through ${notifier.name} failed`),
    );
  }

  private async afterOwnCommit(version: Version): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting') return;
    // The bump is committed now, so a build started from here reads it (G4): no store read needed. The caller
    // waits for it: no spacing (S5).
    this.scheduler.raise(version, true);
    await this.scheduler.waitFor(version, { acceptFailure: true });
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
