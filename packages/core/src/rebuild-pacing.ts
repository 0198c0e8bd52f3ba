/*
 * Storm pacing (issue 15): when a rebuild nobody waits for (a push hint, a poll) may start, so that a burst of
 * commits cannot keep every process rebuilding and starve the writer, while an isolated commit still lands at once
 * and a burst still converges soon after its last commit. The build scheduler asks `dueAt` before such a rebuild;
 * rebuilds a caller waits for (its own commit, a check) are never paced (S5 in build-scheduler.ts).
 *
 * A storm is a run of hints with no silence long enough to end it (`quietMs`, or the storm's current spacing when
 * that is longer: P7). Rules, enforced here and tested in test/storm-spacing.test.ts, test/storm-model.test.ts,
 * test/storm-stall.test.ts, test/storm-spread.test.ts, test/storm-pause.test.ts and (P8) test/storm-trailing.test.ts:
 *
 * P1 Leading edge: outside a storm (`streak` 0) a rebuild starts `minMs` after the previous one ended, so at once
 *    after a quiet spell. Polls never open a storm (they are not hints): interval mode keeps this spacing.
 * P2 Backoff: the n-th rebuild of a storm (n >= 2) starts at least min(minMs x 2^(n-2), maxMs) after the previous
 *    one ended: 100, 200, 400, 800, 1000, 1000 ms... with the defaults, so a long storm costs a process about one
 *    rebuild per `maxMs`.
 * P3 Trailing edge: within a storm a rebuild is never held more than `quietMs` after the last hint, so the last
 *    commit of a burst is served within `quietMs` + the push delay + the build in flight + one rebuild.
 * P4 `streak` counts the rebuilds started in the current storm; the first hint after `quietMs` of silence while
 *    the scheduler was idle (no build in flight, none held back), or a rebuild that starts after the storm ended,
 *    resets it. A gap in the hints while a build runs or one is held back is not silence: on a busy machine a
 *    process that gets no CPU for a while (8 workers, a writer and the database on 2 cores) hears the hints of
 *    that while late and at once, and a storm that restarted its backoff after every such stall would rebuild
 *    several times as often (measured in the bench's storm: 16 to 31 rebuilds per worker instead of 7 to 13).
 * P5 The scheduler decides a held-back rebuild's start after the hints that are already waiting to be read
 *    (build-scheduler.ts defers the spacing timer's decision with setImmediate, which Node runs after reading
 *    sockets), so the same stall does not look like the quiet that ends a storm either.
 * P6 Spread: a storm rebuild (n >= 2) waits a random extra of up to half its P2 spacing, drawn once per rebuild,
 *    so processes that heard the same hints do not all rebuild at the same moments (as polls have jitterMs). On a
 *    small machine eight workers rebuilding at once take every core from the writer's chain of round trips; the
 *    bench's storm measured it. The trailing edge (P3) is not spread: convergence after a burst is unchanged.
 * P7 A storm ends after a silence as long as its current spacing (P2), not after `quietMs`: a pause in the hints
 *    shorter than that (the writer itself got no CPU for a while) keeps the backoff where it was. The trailing
 *    edge (P3) still rebuilds after `quietMs` of silence, so the last commit converges as fast; that rebuild counts
 *    as one more of the storm. Without P7 every pause of the writer longer than `quietMs` restarted the backoff at
 *    `minMs`, and on a busy machine the writer pauses often (the workers' rebuilds take its CPU), so the workers
 *    rebuilt every 100 to 200 ms for the whole storm: a feedback loop. A commit that comes after a storm but
 *    within its spacing is therefore served by the trailing edge, within `quietMs`, not at once (P1 waits up to
 *    `minMs` after a rebuild anyway); after a silence of `maxMs` every storm is over.
 * P8 Without a leading rebuild (`leading: false`, the `leadingRebuild` option), a rebuild a hint asked for waits
 *    for `quietMs` without a hint (the trailing edge, P3), and never longer than `maxMs` (plus P6's spread) after
 *    it became due (a newer version seen, no build running): a burst costs one rebuild at its end, and a long
 *    storm one per `maxMs` or so, instead of one at its first hint and a backoff after it. An isolated commit
 *    is served `quietMs` later than with the leading edge. P1 still applies (never sooner than `minMs` after the
 *    previous build), and a rebuild no hint asked for (a poll, a resync after a channel came back) is not held
 *    unless a hint came within `quietMs`: it starts as in P1. The bench's storm measured why one would choose
 *    it: on 2 cores, 8 workers rebuilding at a storm's first hint took the writer's CPU
 *    (test/bench/report/storm.ts).
 */

export interface PacingOptions {
  /** `minRebuildIntervalMs`. */
  minMs: number;
  /** `maxRebuildIntervalMs`, at least `minMs`. */
  maxMs: number;
  /** `stormQuietMs`. */
  quietMs: number;
  /** `leadingRebuild`: `false` holds every hinted rebuild for the trailing edge (P8). @default true */
  leading?: boolean;
  /**
   * Tests only, the negative control of test/storm-stall.test.ts and test/storm-spread.test.ts: the pacing
   * before P4's idle condition, P5, P6 and P7 (any gap in the hints of `quietMs` ends the storm; the spacing
   * timer decides at once; no spread). Not reachable from ReloaderOptions.
   */
  naive?: boolean;
  /** Tests only, the negative control of P7 in test/storm-pause.test.ts: `quietMs` of silence ends a storm. */
  endOnQuiet?: boolean;
}

export class RebuildPacing {
  private lastHintAt = Number.NEGATIVE_INFINITY;
  private streak = 0;
  /** P6: the next storm rebuild's share of extra spacing, drawn once per rebuild. */
  private spread = Math.random();

  constructor(private readonly options: PacingOptions) {}

  /** A push hint arrived (every hint, read or absorbed); `idle`: no build in flight or held back. */
  hinted(now: number, idle: boolean): void {
    if ((idle || this.options.naive) && !this.stormy(now)) this.streak = 0; // P4, P7: a new storm starts here
    this.lastHintAt = now;
  }

  /** A paced rebuild starts now. */
  started(now: number): void {
    this.streak = this.stormy(now) ? this.streak + 1 : 0; // P4
    this.spread = Math.random(); // P6
  }

  /** Rebuilds started in the current storm (diagnostics and tests). */
  get stormRebuilds(): number {
    return this.streak;
  }

  /**
   * When a paced rebuild may start, given when the previous build ended and since when a rebuild has been due
   * (a newer version seen while nothing was building) (P1..P3, P6, P8).
   */
  dueAt(lastEndAt: number, dueSince: number): number {
    const { minMs, maxMs, quietMs } = this.options;
    if (this.options.leading === false) {
      // P8: the trailing edge, capped at maxMs (+ P6) after the rebuild became due. With no hint within
      // quietMs (a poll, a resync) that is in the past: P1 alone.
      const cap = dueSince + maxMs * (1 + 0.5 * this.spread);
      return Math.max(lastEndAt + minMs, Math.min(this.lastHintAt + quietMs, cap));
    }
    if (this.streak === 0) return lastEndAt + minMs; // P1
    const spacing = this.spacing(); // P2
    const extra = this.options.naive ? 0 : spacing * 0.5 * this.spread; // P6
    return Math.min(lastEndAt + spacing + extra, this.lastHintAt + quietMs); // P3
  }

  /** P2: how long the next storm rebuild waits after the previous one ended (`streak` >= 1). */
  private spacing(): number {
    const { minMs, maxMs } = this.options;
    return Math.min(minMs * 2 ** (this.streak - 1), maxMs);
  }

  /** The storm goes on: the silence since the last hint is shorter than the one that ends it (P4, P7). */
  private stormy(now: number): boolean {
    const { quietMs, naive, endOnQuiet } = this.options;
    const endsAfter = naive || endOnQuiet || this.streak === 0 ? quietMs : Math.max(quietMs, this.spacing());
    return now - this.lastHintAt < endsAfter;
  }
}
