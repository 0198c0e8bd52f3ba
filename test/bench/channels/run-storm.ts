/**
 * Section 3, the storm: a writer commits as fast as it can; does a push channel slow it down against interval
 * mode (issue 15: push keeps the writer at ≥ 80 % of interval mode's commit rate), and how soon after the last
 * commit does every worker serve it?
 *
 * One storm per group, minutes apart, measured the machine's drift more than the channel (on 2 shared cores the
 * baseline alone moved 310 to 471 commits/s between runs). So, as the hot path does: the workers of every storm
 * group run at once, and each of `stormRounds` rounds runs one storm of `stormCommits` commits per group, in an
 * order rotated every round and reversed every other one (so each group storms in every position, after more than
 * one other group). A push group's ratio is taken per round, against the baseline's storm of the same round; the
 * report gives the median of those ratios with a bootstrap confidence interval.
 *
 * Invariants, checked here (a violation is a problem of the run, not a result):
 * - S1 Groups do not hear each other: each has its own Postgres database (or SQLite file) and its own NOTIFY or
 *   Redis channel (workers.ts). While one group storms, the other groups' workers receive no hint and swap in no build.
 * - S2 A storm starts with its group converged (every worker serves the group's last commit: the previous storm
 *   waited for it) and after `settleMs` without commits, so its first hint opens a new storm in the workers'
 *   pacing, as the first commit of a real burst would.
 * The other groups are idle during a storm but not free: the interval groups keep polling. Their reads are
 * counted (`backgroundReadsPerSec`); every storm of a round runs beside the same idle groups but itself, so the
 * push groups and the baseline see nearly the same background.
 */

import type { ReloaderStats } from '@apphook/core';
import type { WorkerHandle } from '@apphook/example-pages-site/spawn';
import { type BenchDatabase, createBenchDatabase } from '../lib/database.js';
import { median, medianCI, round, sleep } from '../lib/stats.js';
import { type ChannelGroup, STORM_BASELINE } from './groups.js';
import {
  firstAtLeast,
  openGroupWriter,
  type Received,
  readStats,
  reloaderErrorsOf,
  type StartOptions,
  startGroupWorkers,
  track,
} from './workers.js';
import type { Commit, Writer } from './writer.js';

export interface StormOptions extends StartOptions {
  workers: number;
  routes: number;
  /** Rounds: one storm per group each. */
  stormRounds: number;
  /** Commits per storm. */
  stormCommits: number;
  /** A storm stops early after this long (a CPU-bound machine), and says how many commits it made. */
  stormMaxMs: number;
  log(line: string): void;
}

/** One group's storm in one round. */
export interface StormRound {
  /** The round, from 0. */
  round: number;
  /** Where in its round this storm ran, from 0 (the order rotates between rounds). */
  position: number;
  commits: number;
  /** `true` when `stormMaxMs` ran out before all commits were made. */
  capped: boolean;
  durationMs: number;
  commitsPerSec: number;
  rebuildsPerWorker: number[];
  /** Token reads per worker during the storm and until it converged (hints and polls; builds read on their own). */
  readsPerWorker: number[];
  /** From the last commit until every worker served it. */
  convergenceMs: number;
  /** The same, less the duration of each worker's last rebuild: the target is at most 100 ms. */
  convergenceLessRebuildMs: number;
  lastRebuildMs: number;
  /** Token reads per second by the other groups' workers (idle: polls, safety polls) during this storm. */
  backgroundReadsPerSec: number;
}

/** A push group's commit rate against the baseline's, round by round. */
export interface StormRatio {
  /** The interval group compared with (STORM_BASELINE). */
  baseline: string;
  /** This group's commits/s over the baseline's, in each round both stormed. */
  perRound: number[];
  median: number;
  /** 95 % bootstrap confidence interval of the median. */
  ci: [number, number];
  min: number;
  max: number;
}

export interface StormResult {
  rounds: StormRound[];
  /** Median over rounds, and the extremes. */
  commitsPerSec: number;
  commitsPerSecMin: number;
  commitsPerSecMax: number;
  /** Median over rounds (the convergence target is judged on it; the worst round is beside it). */
  convergenceMs: number;
  convergenceLessRebuildMs: number;
  convergenceLessRebuildMaxMs: number;
  /** Push groups: against the baseline of the same rounds. */
  ratio?: StormRatio;
  /**
   * A report written before the rounds (`--render` of an older benchmarks.json): one storm per group, minutes
   * apart from the baseline's, kept as a single round.
   */
  olderFormat?: true;
}

export interface StormGroupResult {
  group: ChannelGroup;
  workers: number;
  skipped?: string;
  storm?: StormResult;
  reloaderErrors: Record<string, { count: number; first: string }>;
}

export interface StormRun {
  groups: StormGroupResult[];
  /** Breakage of the measurement itself (S1). */
  problems: string[];
}

/** A group in the rounds: its workers, writer and the storms it made so far. */
interface Live {
  group: ChannelGroup;
  db: BenchDatabase;
  workers: WorkerHandle[];
  received: Received[][];
  writer: Writer;
  page: number;
  rounds: StormRound[];
}

/** Quiet before every storm (S2): longer than the workers' stormQuietMs, so the storm starts a new one. */
const SETTLE_MS = 250;

/** The set's baseline: the group marked `stormBaseline` (STORM_BASELINE in a set of older groups). */
function baselineOf<T extends { group: ChannelGroup }>(live: readonly T[]): T | undefined {
  return live.find((l) => l.group.stormBaseline) ?? live.find((l) => l.group.id === STORM_BASELINE);
}

/**
 * Round `r`'s order: the groups rotated by r / 2, reversed in odd rounds, so that over the rounds each group
 * storms in each position and after two different groups.
 */
export function roundOrder<T>(items: readonly T[], r: number): T[] {
  const base = r % 2 ? [...items].reverse() : [...items];
  const shift = Math.floor(r / 2) % Math.max(1, base.length);
  return [...base.slice(shift), ...base.slice(0, shift)];
}

export async function runStorms(groups: readonly ChannelGroup[], options: StormOptions): Promise<StormRun> {
  const run: StormRun = { groups: [], problems: [] };
  const live: Live[] = [];
  const opened: BenchDatabase[] = [];
  try {
    // Started group by group: 40 workers compiling at once on 2 cores would outlast any start timeout.
    for (const group of groups) {
      const count = group.workers ?? options.workers;
      const entry: StormGroupResult = { group, workers: count, reloaderErrors: {} };
      run.groups.push(entry);
      if (group.redis && !options.redisUrl) {
        entry.skipped = 'Redis is not reachable';
        continue;
      }
      const db = await createBenchDatabase(group.db, options.routes, {
        pgChannel: group.notify,
        ownDatabase: true,
      });
      opened.push(db);
      const started = await startGroupWorkers(group, count, db, options);
      if (started.skipped !== undefined) {
        entry.skipped = started.skipped;
        continue;
      }
      const { workers } = started;
      const received = workers.map(track);
      let writer: Writer;
      try {
        writer = await openGroupWriter(group, db, options);
      } catch (error) {
        await Promise.allSettled(workers.map((w) => w.stop()));
        throw error;
      }
      live.push({ group, db, workers, received, writer, page: 0, rounds: [] });
    }
    if (live.length === 0) return run;
    options.log(
      `  storm: ${live.length} groups × ${live[0]!.workers.length} workers running; ${options.stormRounds} rounds of ${options.stormCommits} commits per group`,
    );

    /** S1: hints and builds in idle groups during another group's storm, by group. */
    const heard = new Map<string, { hints: number; builds: number }>();
    for (let r = 0; r < options.stormRounds; r++) {
      for (const [position, g] of roundOrder(live, r).entries()) {
        await sleep(SETTLE_MS);
        g.rounds.push(await storm(g, live, r, position, options, heard));
      }
      options.log(`  round ${String(r + 1).padStart(2)}: ${roundLine(live, r)}`);
    }

    const baseline = baselineOf(live);
    for (const l of live) {
      const entry = run.groups.find((e) => e.group.id === l.group.id)!;
      entry.storm = summarize(l.rounds);
      if (l.group.pushTarget && baseline)
        entry.storm.ratio = stormRatio(l.rounds, baseline.rounds, baseline.group.id);
      reloaderErrorsOf(l.workers, entry.reloaderErrors);
    }
    for (const [id, { hints, builds }] of heard) {
      run.problems.push(
        `storm: ${id}'s idle workers received ${hints} hint(s) and swapped in ${builds} build(s) while other groups stormed: groups must not hear each other (S1 in run-storm.ts)`,
      );
    }
    for (const l of live.filter((l) => l.group.pushTarget && baseline)) {
      const ratio = run.groups.find((e) => e.group.id === l.group.id)!.storm!.ratio!;
      options.log(
        `  ${l.group.id.padEnd(12)} writer vs ${baseline!.group.id}: median ratio ${ratio.median.toFixed(2)} [${ratio.ci.map((v) => v.toFixed(2)).join('–')}], min–max ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}, ${ratio.perRound.length} rounds`,
      );
    }
  } finally {
    for (const l of live) await l.writer.close().catch(() => {});
    await Promise.allSettled(live.flatMap((l) => l.workers.map((w) => w.stop())));
    await Promise.allSettled(opened.map((db) => db.drop()));
  }
  return run;
}

/** One storm of group `g` while the others idle. */
async function storm(
  g: Live,
  live: readonly Live[],
  r: number,
  position: number,
  options: StormOptions,
  heard: Map<string, { hints: number; builds: number }>,
): Promise<StormRound> {
  const timeoutMs = Math.max(15_000, (g.group.intervalMs ?? 0) * 10);
  const countsBefore = live.map((l) => l.received.map((x) => x.length));
  const statsBefore = await Promise.all(live.map((l) => readStats(l.workers)));
  const t = performance.now();
  let last: Commit | undefined;
  let made = 0;
  while (made < options.stormCommits && performance.now() - t < options.stormMaxMs) {
    last = await g.writer.rename(g.db.paths[g.page++ % g.db.paths.length]!, `storm ${r}.${made++}`);
  }
  const durationMs = performance.now() - t;
  await Promise.all(g.workers.map((w) => w.waitForVersion(last!.version, timeoutMs)));
  const statsAfter = await Promise.all(live.map((l) => readStats(l.workers)));
  // The other groups' reads are counted from the first commit until every worker of `g` served the last.
  const windowMs = performance.now() - t;

  const reads = (i: number) =>
    statsAfter[i]!.map((s: ReloaderStats, w) => s.reads - statsBefore[i]![w]!.reads);
  let background = 0;
  for (const [i, l] of live.entries()) {
    if (l === g) continue;
    const n = reads(i).reduce((a, b) => a + b, 0);
    background += n;
    const builds = l.received.reduce((a, x, w) => a + x.length - countsBefore[i]![w]!, 0);
    const hints = statsAfter[i]!.reduce((a, x, w) => a + x.hints - statsBefore[i]![w]!.hints, 0);
    if (builds > 0 || hints > 0) {
      const seen = heard.get(l.group.id) ?? { hints: 0, builds: 0 };
      heard.set(l.group.id, { hints: seen.hints + hints, builds: seen.builds + builds });
    }
  }
  const gi = live.indexOf(g);
  const finals = g.received.map((x) => firstAtLeast(x, last!.version)!);
  const convergence = finals.map((f) => f.at - last!.committedAt);
  return {
    round: r,
    position,
    commits: made,
    capped: made < options.stormCommits,
    durationMs: round(durationMs, 0),
    commitsPerSec: round((made / durationMs) * 1000, 1),
    rebuildsPerWorker: g.received.map((x, w) => x.length - countsBefore[gi]![w]!),
    readsPerWorker: reads(gi),
    convergenceMs: round(Math.max(...convergence), 2),
    convergenceLessRebuildMs: round(Math.max(...finals.map((f, w) => convergence[w]! - f.durationMs)), 2),
    lastRebuildMs: round(Math.max(...finals.map((f) => f.durationMs)), 2),
    backgroundReadsPerSec: round((background / windowMs) * 1000, 1),
  };
}

/** `pg-notify 310/s (0.97), redis 280/s (0.88), …`: a round's rates, and each push group's ratio to the baseline. */
function roundLine(live: readonly Live[], r: number): string {
  const base = baselineOf(live)?.rounds[r];
  return roundOrder(live, r)
    .map((l) => {
      const s = l.rounds[r]!;
      const ratio =
        l.group.pushTarget && base ? ` (${(s.commitsPerSec / base.commitsPerSec).toFixed(2)})` : '';
      return `${l.group.id} ${Math.round(s.commitsPerSec)}/s${ratio}`;
    })
    .join(', ');
}

export function summarize(rounds: StormRound[]): StormResult {
  const rates = rounds.map((s) => s.commitsPerSec);
  return {
    rounds,
    commitsPerSec: round(median(rates), 1),
    commitsPerSecMin: Math.min(...rates),
    commitsPerSecMax: Math.max(...rates),
    convergenceMs: round(median(rounds.map((s) => s.convergenceMs)), 2),
    convergenceLessRebuildMs: round(median(rounds.map((s) => s.convergenceLessRebuildMs)), 2),
    convergenceLessRebuildMaxMs: Math.max(...rounds.map((s) => s.convergenceLessRebuildMs)),
  };
}

/** Per round (the same index in both lists), `rounds`' commit rate over the baseline's. */
export function stormRatio(
  rounds: readonly StormRound[],
  baseline: readonly StormRound[],
  baselineId = STORM_BASELINE,
): StormRatio {
  const perRound = rounds.flatMap((s) => {
    const b = baseline.find((x) => x.round === s.round);
    return b ? [round(s.commitsPerSec / b.commitsPerSec, 4)] : [];
  });
  const ci = medianCI(perRound);
  return {
    baseline: baselineId,
    perRound,
    median: round(median(perRound), 4),
    ci: [round(ci[0], 4), round(ci[1], 4)],
    min: Math.min(...perRound),
    max: Math.max(...perRound),
  };
}
