import type { Version } from './contracts.js';
import { ApphookError } from './errors.js';
import { runNeutral } from './neutral-context.js';
import { type PacingOptions, RebuildPacing } from './rebuild-pacing.js';
import { attempt, backoffDelay, unrefTimer } from './timing.js';

/*
 * The build scheduler of one reloader: what to build next (`target`), when to start it (`kick`), and the one
 * list of callers waiting for a version (`waitFor`, settled by `settle`). The reloader feeds it versions it saw
 * committed; the scheduler runs builds one at a time and swaps in only newer ones.
 *
 * Invariants, checked by `assertInvariants()` wherever state changes (a violation throws: it is a bug) and by
 * the model-based tests (test/model.test.ts) over random schedules:
 *
 * S1 At most one build is in flight, and never while a timer is pending (G8).
 * S2 `served` never decreases: a build whose label is not newer than what serves is dropped, not swapped (G3).
 * S3 Once something serves, `target >= served`.
 * S4 Progress: while running with `target > served`, a build is in flight or one timer (retry or spacing) is
 *    pending, so every due version gets built without anyone calling in.
 * S5 A retry backoff only holds a retry of the version that failed: a higher target replaces it with at most
 *    the spacing delay (issue 13 item 4). Storm pacing (rebuild-pacing.ts, P1..P8) only delays rebuilds
 *    nobody waits for (push hints, polls), never the first build nor a version a caller waits for (`urgent`:
 *    its own commit, a request-mode check), so a writer is never held back by a storm.
 * S6 One way to wait: a waiter stays in `waiters` until it is settled, exactly once: 'served' as soon as
 *    `served >= version`; 'failed' when a build for `>= version` failed (waiters that accept it keep the last
 *    good routes, G5); 'stopped' on stop; 'timeout' at its deadline.
 * S7 After stop(): no timer pending, no waiter left, no build starts; the one in flight is aborted and its
 *    result dropped.
 * S8 A hint that arrives while a build runs, or while a paced build that reads its own snapshot is pending,
 *    starts no store read: it only sets `dirty`, and `dirty` is only set while a build runs or a paced one is
 *    pending. A snapshot build answers every hint before it started (G4); one read after the build answers the
 *    rest (G10). A retry backoff does not absorb hints: a newer version must still replace it (S5).
 */

export type WaitResult =
  | { kind: 'served' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'stopped' }
  | { kind: 'timeout' };

export interface WaitOptions {
  /** Settle with 'failed' when a build that covers the version fails (the last good routes answer, G5). */
  acceptFailure?: boolean;
  /** Settle with 'timeout' after this long. */
  timeoutMs?: number;
}

/** What a finished build hands back: the version its data belongs to (G4), and how to swap it in. */
export interface BuiltVersion {
  label: Version;
  /** Called only when `label` is newer than what serves. */
  swap(): void;
}

export interface SchedulerOptions {
  /** Builds `target` or later, in a neutral async context; `controller` aborts it (timeout, stop). */
  build(target: Version, controller: AbortController): Promise<BuiltVersion>;
  /** A build failed; `first` when nothing serves yet: then there is no retry, start() reports it. */
  failed(error: unknown, target: Version, first: boolean): void;
  /** Starts one shared store read (its result comes back through `raise`): answers hints marked `dirty` (S8). */
  read(): void;
  /** The store has `readSnapshot`: a build reads the version itself, after every hint so far (G4, S8). */
  snapshotBuilds: boolean;
  pacing: PacingOptions;
  retryBaseMs: number;
  retryMaxMs: number;
}

interface Waiter {
  version: Version;
  acceptFailure: boolean;
  resolve(result: WaitResult): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** 'paused' before start() lets builds run and after a failed first build; 'stopped' is final. */
type Phase = 'paused' | 'running' | 'stopped';

export class BuildScheduler {
  private phase: Phase = 'paused';
  private targetVersion: Version = -1;
  /** Highest version a local caller waits on (its own commit): built without spacing (S5). */
  private urgent: Version = -1;
  private servedVersion: Version | undefined;
  private inFlight: { controller: AbortController; done: Promise<void> } | undefined;
  private timer: { kind: 'retry' | 'spacing'; cancel(): void } | undefined;
  /** Target of the last failed build while its backoff runs (S5). */
  private failedTarget: Version = -1;
  private lastError: unknown;
  private failStreak = 0;
  private lastEndAt = Number.NEGATIVE_INFINITY;
  /** Since when a newer version waits with no build running (P8's cap); `undefined` when none waits. */
  private dueSince: number | undefined;
  /** Hints arrived that no read or snapshot has answered yet (S8). */
  private dirty = false;
  private readonly pacing: RebuildPacing;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly options: SchedulerOptions) {
    this.pacing = new RebuildPacing(options.pacing);
  }

  /** Version served, `undefined` before the first build. */
  get served(): Version | undefined {
    return this.servedVersion;
  }

  /** Highest committed version seen, `undefined` before the first read. */
  get target(): Version | undefined {
    return this.targetVersion < 0 ? undefined : this.targetVersion;
  }

  /** A committed version was seen. `urgent`: a local caller waits for it, so spacing does not apply. */
  raise(version: Version, urgent = false): void {
    if (this.phase === 'stopped') return;
    if (version > this.targetVersion) this.targetVersion = version;
    if (urgent && version > this.urgent) this.urgent = version;
    this.kick();
  }

  /** A push hint arrived: it paces the rebuilds of a storm (rebuild-pacing.ts). */
  hinted(): void {
    this.pacing.hinted(Date.now(), !this.inFlight && this.timer === undefined);
  }

  /**
   * Whether a hint needs no read of its own: `true` while a build runs or a paced one is pending; the hint is
   * then answered by that build's snapshot or by one read after it (S8).
   */
  absorbHint(): boolean {
    // A build without its own snapshot builds `target`: while one is pending, hints must still be read.
    const pending = this.timer?.kind === 'spacing' && this.options.snapshotBuilds;
    if (this.phase !== 'running' || !(this.inFlight || pending)) return false;
    this.dirty = true;
    return true;
  }

  /** Lets builds start: start() calls it once the first version is known. */
  run(): void {
    if (this.phase === 'stopped') return;
    this.phase = 'running';
    this.kick();
  }

  /** start() failed: no builds until the next run(); waiters that accept a failure settle with it. */
  pause(error: unknown): void {
    if (this.phase === 'stopped') return;
    this.phase = 'paused';
    this.clearTimer();
    this.dirty = false;
    this.dueSince = undefined;
    for (const waiter of [...this.waiters]) {
      if (waiter.acceptFailure) this.settle(waiter, { kind: 'failed', error });
    }
    this.assertInvariants();
  }

  /** Final (S7). Resolves when the build in flight, aborted with `reason`, has settled. */
  stop(reason: unknown): Promise<void> {
    this.phase = 'stopped';
    this.clearTimer();
    this.dirty = false;
    this.inFlight?.controller.abort(reason);
    for (const waiter of [...this.waiters]) this.settle(waiter, { kind: 'stopped' });
    this.assertInvariants();
    return this.inFlight?.done ?? Promise.resolve();
  }

  /** The one way to wait for a version (S6). Never rejects. */
  waitFor(version: Version, options: WaitOptions = {}): Promise<WaitResult> {
    if (this.servedVersion !== undefined && this.servedVersion >= version) {
      return Promise.resolve({ kind: 'served' });
    }
    if (this.phase === 'stopped') return Promise.resolve({ kind: 'stopped' });
    const acceptFailure = options.acceptFailure ?? false;
    // The build that covered it failed and its retry waits: the last good routes answer now (G5).
    if (acceptFailure && this.timer?.kind === 'retry' && version <= this.failedTarget) {
      return Promise.resolve({ kind: 'failed', error: this.lastError });
    }
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && timeoutMs <= 0) return Promise.resolve({ kind: 'timeout' });
    return new Promise((resolve) => {
      const waiter: Waiter = { version, acceptFailure, resolve, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => this.settle(waiter, { kind: 'timeout' }), timeoutMs);
      }
      this.waiters.add(waiter);
      this.kick();
    });
  }

  /** Starts a build when one is due and allowed (S1, S4, S5). */
  private kick(): void {
    this.decide();
    this.assertInvariants();
  }

  private decide(): void {
    if (this.phase !== 'running' || this.inFlight) return;
    const served = this.servedVersion ?? -1;
    if (this.targetVersion <= served) {
      this.dueSince = undefined;
      this.clearTimer(); // nothing left to retry or space out
      this.readIfDirty(); // hints heard during the build that just ended (S8)
      return;
    }
    if (this.timer?.kind === 'retry' && this.targetVersion <= this.failedTarget) {
      this.readIfDirty(); // a newer version must not wait out the backoff (S5)
      return;
    }
    // A build without its own snapshot is labelled `target`: read what the absorbed hints announced first.
    if (!this.options.snapshotBuilds) this.readIfDirty();
    const now = Date.now();
    this.dueSince ??= now;
    // Pacing holds back only rebuilds nobody local waits for, and never the first build (S5).
    const paced = this.servedVersion !== undefined && this.urgent <= served;
    const due = paced ? this.pacing.dueAt(this.lastEndAt, this.dueSince) : now;
    if (due > now) {
      // Hints only ever move `due` later (P3), so a timer set earlier than `due` just re-checks when it fires.
      if (this.timer?.kind !== 'spacing') this.setTimer('spacing', due - now);
      return;
    }
    this.clearTimer();
    this.dueSince = undefined;
    if (paced) this.pacing.started(now);
    // The build's snapshot opens after every hint so far, so it reads what they announced (G4, S8).
    if (this.options.snapshotBuilds) this.dirty = false;
    const target = this.targetVersion;
    const controller = new AbortController();
    const done = runNeutral(() => attempt(() => this.options.build(target, controller))).then(
      (built) => this.finished(target, built),
      (error: unknown) => this.failed(target, error),
    );
    this.inFlight = { controller, done };
  }

  private finished(target: Version, built: BuiltVersion): void {
    this.inFlight = undefined;
    this.lastEndAt = Date.now();
    if (this.phase === 'stopped') return; // its result is dropped (S7)
    const served = this.servedVersion;
    if (served === undefined || built.label > served) {
      try {
        built.swap();
      } catch (error) {
        this.failed(target, error);
        return;
      }
      check(served === undefined || built.label > served, 'S2: served would decrease');
      this.servedVersion = built.label;
      if (built.label > this.targetVersion) this.targetVersion = built.label;
    }
    this.failStreak = 0;
    this.failedTarget = -1;
    const now = this.servedVersion ?? -1;
    for (const waiter of [...this.waiters]) {
      if (waiter.version <= now) this.settle(waiter, { kind: 'served' });
    }
    this.kick(); // a version that arrived during the build triggers exactly one more (G8)
  }

  private failed(target: Version, error: unknown): void {
    this.inFlight = undefined;
    this.lastEndAt = Date.now();
    if (this.phase === 'stopped') return; // aborted by stop(): no failure to report
    this.failStreak++;
    this.lastError = error;
    const first = this.servedVersion === undefined;
    try {
      this.options.failed(error, target, first);
    } catch {
      // Reporting must not break scheduling (G5).
    }
    for (const waiter of [...this.waiters]) {
      if (waiter.acceptFailure && waiter.version <= target) this.settle(waiter, { kind: 'failed', error });
    }
    if (first) {
      this.phase = 'paused'; // nothing to fall back to: start() rejects, no retry
      this.dirty = false;
      this.assertInvariants();
      return;
    }
    this.failedTarget = target;
    this.setTimer('retry', backoffDelay(this.failStreak, this.options.retryBaseMs, this.options.retryMaxMs));
    this.kick(); // a higher target that arrived meanwhile does not wait out the backoff (S5)
  }

  private readIfDirty(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.options.read();
  }

  private settle(waiter: Waiter, result: WaitResult): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(result);
  }

  private setTimer(kind: 'retry' | 'spacing', ms: number): void {
    this.clearTimer();
    const timer = {
      kind,
      cancel: () => clearTimeout(handle),
    };
    const handle = unrefTimer(
      setTimeout(() => {
        if (this.timer !== timer) return;
        if (kind === 'retry' || this.options.pacing.naive) return this.fired(timer);
        // P5: Node runs due timers before it reads sockets; after a stall, hints may be waiting to be read that
        // keep the storm going. setImmediate runs after they were read, and the timer stays pending till then.
        const immediate = setImmediate(() => this.fired(timer));
        timer.cancel = () => clearImmediate(immediate);
      }, ms),
    );
    this.timer = timer;
  }

  private fired(timer: NonNullable<BuildScheduler['timer']>): void {
    if (this.timer !== timer) return;
    this.timer = undefined;
    this.kick();
  }

  private clearTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private assertInvariants(): void {
    const served = this.servedVersion;
    check(!(this.inFlight && this.timer), 'S1: a build runs while a timer is pending');
    check(served === undefined || this.targetVersion >= served, 'S3: target below served');
    if (this.phase === 'running' && this.targetVersion > (served ?? -1)) {
      check(
        this.inFlight !== undefined || this.timer !== undefined,
        'S4: a due version has nothing to build it',
      );
    }
    if (this.timer?.kind === 'retry') {
      check(this.targetVersion <= this.failedTarget, 'S5: a backoff holds back a newer version');
    }
    if (this.phase === 'stopped') {
      check(this.timer === undefined && this.waiters.size === 0, 'S7: a timer or waiter outlived stop()');
    }
    if (this.dirty) {
      check(
        this.phase === 'running' && (this.inFlight !== undefined || this.timer?.kind === 'spacing'),
        'S8: an absorbed hint has no build to answer it',
      );
    }
  }
}

function check(condition: boolean, invariant: string): asserts condition {
  if (!condition) {
    throw new ApphookError(
      'E_STATE',
      `[apphook/core] build scheduler invariant broken (${invariant}); this is a bug in apphook, please report it`,
    );
  }
}
