/**
 * Sections 2 and 4 for one channel group: 8 site workers (examples/pages-site) on a table of their own, a writer in
 * this process. First the idle cost (token reads while nothing changes), then propagation (isolated commits,
 * each timed until every worker serves it). The storm (section 3) runs every storm group at once, in rounds:
 * run-storm.ts.
 */

import type { WorkerHandle } from '@apphook/example-pages-site/spawn';
import { createBenchDatabase } from '../lib/database.js';
import { type Distribution, distribution, round, sleep } from '../lib/stats.js';
import type { ChannelGroup } from './groups.js';
import type { StormResult } from './run-storm.js';
import {
  firstAtLeast,
  openGroupWriter,
  readStats,
  reloaderErrorsOf,
  roundDistribution,
  startGroupWorkers,
  track,
} from './workers.js';
import type { Commit, Writer } from './writer.js';

export interface ChannelOptions {
  workers: number;
  routes: number;
  idleS: number;
  safetyIntervalMs: number;
  /** Propagation commits per group (a group's `propagationCommits` can lower it). */
  commits: number;
  /**
   * After every worker served a commit, the writer waits the rebuild spacing (`spacingMs`) plus a random pause
   * in this range before the next one: each commit is measured alone, never delayed by the spacing of the
   * rebuild before it (the storm measures commits that come closer together).
   */
  pauseMs: [number, number];
  /** The workers' `minRebuildIntervalMs` (core's default unless the reloader options set it). */
  spacingMs: number;
  /** Extra createReloader options for the workers (APPHOOK_BENCH_RELOADER_OPTIONS), passed through as given. */
  reloaderOptions?: Record<string, unknown> | undefined;
  redisUrl: string | undefined;
  /** How long a worker may take to start (tsx compiles it; minutes on a loaded machine). */
  startTimeoutMs?: number;
  log(line: string): void;
}

export interface IdleResult {
  windowS: number;
  reads: number;
  readsPerSec: number;
  readsPerWorkerPerSec: number;
  /** In push and request modes: token reads per worker per safety-poll interval. */
  readsPerWorkerPerSafetyInterval?: number;
}

export interface PropagationResult {
  commits: number;
  /** Per commit: from its commit until every worker served it (or a later version). */
  allWorkers: Distribution;
  /** Every (commit, worker) pair. */
  eachWorker: Distribution;
  /**
   * Per commit: until every worker had started the rebuild that serves it: the channel and the store read,
   * without the rebuild itself.
   */
  allWorkersStarted: Distribution;
  rebuildMs: Distribution;
  /** The target bound: 20 ms plus one rebuild (the median rebuild of this run). */
  boundMs: number;
}

export interface ChannelResult {
  group: ChannelGroup;
  workers: number;
  skipped?: string;
  idle?: IdleResult;
  propagation?: PropagationResult;
  /** Section 3, from the storm rounds (run-storm.ts), which run after every group's idle and propagation parts. */
  storm?: StormResult;
  /** Errors the workers' reloaders emitted, by phase, with the first message of each phase. */
  reloaderErrors: Record<string, { count: number; first: string }>;
}

export async function runChannelGroup(group: ChannelGroup, options: ChannelOptions): Promise<ChannelResult> {
  const workerCount = group.workers ?? options.workers;
  const result: ChannelResult = { group, workers: workerCount, reloaderErrors: {} };
  if (group.redis && !options.redisUrl) {
    result.skipped = 'Redis is not reachable';
    return result;
  }
  const db = await createBenchDatabase(group.db, options.routes, {
    pgChannel: group.notify,
    ownDatabase: true,
  });
  let workers: WorkerHandle[] = [];
  let writer: Writer | undefined;
  try {
    const started = await startGroupWorkers(group, workerCount, db, options);
    if (started.skipped !== undefined) {
      result.skipped = started.skipped;
      return result;
    }
    workers = started.workers;
    const received = workers.map(track);
    writer = await openGroupWriter(group, db, options);

    // --- idle ------------------------------------------------------------------------------------------
    if (group.idle !== false) {
      const before = await readStats(workers);
      const t0 = performance.now();
      await sleep(options.idleS * 1000);
      const after = await readStats(workers);
      const windowS = (performance.now() - t0) / 1000;
      const reads = after.reduce((n, s, i) => n + s.reads - before[i]!.reads, 0);
      result.idle = {
        windowS: round(windowS, 2),
        reads,
        readsPerSec: round(reads / windowS, 2),
        readsPerWorkerPerSec: round(reads / windowS / workers.length, 3),
        ...(group.mode !== 'interval'
          ? {
              readsPerWorkerPerSafetyInterval: round(
                reads / workers.length / (windowS / (options.safetyIntervalMs / 1000)),
                2,
              ),
            }
          : {}),
      };
      options.log(
        `  ${group.id.padEnd(12)} idle: ${reads} token reads by ${workers.length} workers in ${windowS.toFixed(1)} s`,
      );
    }

    const waitAll = (version: number, timeoutMs: number) =>
      Promise.all(workers.map((w) => w.waitForVersion(version, timeoutMs)));
    const timeoutMs = Math.max(15_000, (group.intervalMs ?? 0) * 10);
    let page = 0;
    const nextPath = () => db.paths[page++ % db.paths.length]!;

    // --- propagation -----------------------------------------------------------------------------------
    if (group.propagation) {
      const commits: Commit[] = [];
      const count = Math.min(options.commits, group.propagationCommits ?? Number.POSITIVE_INFINITY);
      for (let i = 0; i < count; i++) {
        // Isolated commits: the previous one is served everywhere (its rebuilds ended), then the spacing
        // window passes, so this commit's rebuild starts as soon as its hint or poll arrives.
        if (i > 0) await waitAll(commits[i - 1]!.version, timeoutMs);
        const [lo, hi] = options.pauseMs;
        await sleep(options.spacingMs + lo + Math.random() * (hi - lo));
        commits.push(await writer.rename(nextPath(), `propagation ${i}`));
      }
      await waitAll(commits.at(-1)!.version, timeoutMs);
      const all: number[] = [];
      const each: number[] = [];
      const started: number[] = [];
      for (const commit of commits) {
        const builds = received.map((r) => firstAtLeast(r, commit.version)!);
        const times = builds.map((b) => b.at - commit.committedAt);
        each.push(...times);
        all.push(Math.max(...times));
        started.push(Math.max(...builds.map((b) => b.startedAt - commit.committedAt)));
      }
      const first = commits[0]!.version;
      const rebuilds = received.flatMap((r) => r.filter((b) => b.version >= first).map((b) => b.durationMs));
      const rebuildMs = distribution(rebuilds);
      result.propagation = {
        commits: commits.length,
        allWorkers: roundDistribution(distribution(all)),
        eachWorker: roundDistribution(distribution(each)),
        allWorkersStarted: roundDistribution(distribution(started)),
        rebuildMs: roundDistribution(rebuildMs),
        boundMs: round(20 + (group.heldMs ?? 0) + rebuildMs.p50, 2),
      };
      options.log(
        `  ${group.id.padEnd(12)} propagation: ${commits.length} commits, all ${workers.length} workers p50 ${result.propagation.allWorkers.p50} ms, p99 ${result.propagation.allWorkers.p99} ms, max ${result.propagation.allWorkers.max} ms (rebuild p50 ${result.propagation.rebuildMs.p50} ms)`,
      );
    }

    reloaderErrorsOf(workers, result.reloaderErrors);
  } finally {
    await writer?.close().catch(() => {});
    await Promise.allSettled(workers.map((w) => w.stop()));
    await db.drop().catch(() => {});
  }
  return result;
}
