/**
 * Sections 2 to 4 for one channel group: 8 site workers (examples/pages-site) on a table of their own, a writer in
 * this process. First the idle cost (token reads while nothing changes), then propagation (isolated commits,
 * each timed until every worker serves it), then the storm (commits as fast as one writer can go).
 */

import type { ReloaderStats } from '@apphook/core';
import type { BuildInfo } from '@apphook/example-pages-site/site';
import { spawnWorker, type WorkerHandle } from '@apphook/example-pages-site/spawn';
import { createBenchDatabase } from '../lib/database.js';
import { type Distribution, distribution, round, sleep } from '../lib/stats.js';
import type { ChannelGroup } from './groups.js';
import { type Commit, Writer } from './writer.js';

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
  stormCommits: number;
  /** The storm stops early after this long (a CPU-bound machine), and says how many commits it made. */
  stormMaxMs: number;
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

export interface StormResult {
  commits: number;
  /** `true` when `stormMaxMs` ran out before all commits were made. */
  capped: boolean;
  durationMs: number;
  commitsPerSec: number;
  rebuildsPerWorker: number[];
  /** Token reads per worker during the storm and until it converged (hints and polls; builds read on their own). */
  readsPerWorker?: number[];
  /** From the last commit until every worker served it. */
  convergenceMs: number;
  /** The same, less the duration of each worker's last rebuild: the target is at most 100 ms. */
  convergenceLessRebuildMs: number;
  lastRebuildMs: number;
}

export interface ChannelResult {
  group: ChannelGroup;
  workers: number;
  skipped?: string;
  idle?: IdleResult;
  propagation?: PropagationResult;
  storm?: StormResult;
  /** Errors the workers' reloaders emitted, by phase, with the first message of each phase. */
  reloaderErrors: Record<string, { count: number; first: string }>;
}

interface Received {
  version: number;
  /** When the report arrived here. */
  at: number;
  /** When that build started, on this process's clock (arrival less the build's duration). */
  startedAt: number;
  durationMs: number;
}

/** Build reports of one worker, stamped when they reached this process. */
function track(worker: WorkerHandle): Received[] {
  const received: Received[] = [];
  worker.process.on('message', (message: { type?: string; build?: BuildInfo }) => {
    if (message.type === 'build' && message.build) {
      const at = performance.now();
      const { version, durationMs } = message.build;
      received.push({ version, at, startedAt: at - durationMs, durationMs });
    }
  });
  return received;
}

/** The first report of `version` or later, if any. */
function firstAtLeast(received: readonly Received[], version: number): Received | undefined {
  return received.find((r) => r.version >= version);
}

async function readStats(workers: readonly WorkerHandle[]): Promise<ReloaderStats[]> {
  return Promise.all(
    workers.map(async (w) => {
      const res = await fetch(`${w.url}/__status`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { stats: ReloaderStats };
      return body.stats;
    }),
  );
}

export async function runChannelGroup(group: ChannelGroup, options: ChannelOptions): Promise<ChannelResult> {
  const workerCount = group.workers ?? options.workers;
  const result: ChannelResult = { group, workers: workerCount, reloaderErrors: {} };
  if (group.redis && !options.redisUrl) {
    result.skipped = 'Redis is not reachable';
    return result;
  }
  const db = await createBenchDatabase(group.db, options.routes, { pgChannel: group.notify });
  const redisChannel = `apphook:${db.tag}`;
  const workers: WorkerHandle[] = [];
  let writer: Writer | undefined;
  try {
    const started = await Promise.allSettled(
      Array.from({ length: workerCount }, (_, i) =>
        spawnWorker(
          {
            name: `${group.id} ${i + 1}`,
            db: db.config,
            scope: 'bench',
            mode: group.mode,
            ...(group.intervalMs ? { intervalMs: group.intervalMs } : {}),
            safetyIntervalMs: options.safetyIntervalMs,
            ...(options.reloaderOptions ? { reloaderOptions: options.reloaderOptions } : {}),
            ...(group.redis ? { redisUrl: options.redisUrl, redisChannel } : {}),
          },
          { startTimeoutMs: options.startTimeoutMs ?? 30_000 },
        ),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      const message = String((failed as PromiseRejectedResult).reason?.message ?? failed);
      if (/needs a push channel/.test(message)) {
        result.skipped = `not measured: the Postgres store has no LISTEN push in this checkout (${message.slice(0, 160)})`;
        return result;
      }
      throw new Error(`${group.id}: a worker did not start: ${message}`);
    }
    const received = workers.map(track);
    writer = await Writer.open(
      db.config,
      'bench',
      group.redis && options.redisUrl ? { url: options.redisUrl, channel: redisChannel } : undefined,
    );

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
        boundMs: round(20 + rebuildMs.p50, 2),
      };
      options.log(
        `  ${group.id.padEnd(12)} propagation: ${commits.length} commits, all ${workers.length} workers p50 ${result.propagation.allWorkers.p50} ms, p99 ${result.propagation.allWorkers.p99} ms, max ${result.propagation.allWorkers.max} ms (rebuild p50 ${result.propagation.rebuildMs.p50} ms)`,
      );
    }

    // --- storm -----------------------------------------------------------------------------------------
    if (group.storm && options.stormCommits > 0) {
      const startVersion = (await writer.rename(nextPath(), 'storm start')).version;
      await waitAll(startVersion, timeoutMs);
      const countBefore = received.map((r) => r.length);
      const statsBefore = await readStats(workers);
      const t = performance.now();
      let last: Commit | undefined;
      let made = 0;
      while (made < options.stormCommits && performance.now() - t < options.stormMaxMs) {
        last = await writer.rename(nextPath(), `storm ${made++}`);
      }
      const durationMs = performance.now() - t;
      await waitAll(last!.version, timeoutMs);
      const statsAfter = await readStats(workers);
      const finals = received.map((r) => firstAtLeast(r, last!.version)!);
      const convergence = finals.map((f) => f.at - last!.committedAt);
      result.storm = {
        commits: made,
        capped: made < options.stormCommits,
        durationMs: round(durationMs, 0),
        commitsPerSec: round((made / durationMs) * 1000, 0),
        rebuildsPerWorker: received.map((r, i) => r.length - countBefore[i]!),
        readsPerWorker: statsAfter.map((s, i) => s.reads - statsBefore[i]!.reads),
        convergenceMs: round(Math.max(...convergence), 2),
        convergenceLessRebuildMs: round(Math.max(...finals.map((f, i) => convergence[i]! - f.durationMs)), 2),
        lastRebuildMs: round(Math.max(...finals.map((f) => f.durationMs)), 2),
      };
      options.log(
        `  ${group.id.padEnd(12)} storm: ${made} commits in ${result.storm.durationMs} ms, rebuilds per worker ${result.storm.rebuildsPerWorker.join('/')}, token reads per worker ${result.storm.readsPerWorker!.join('/')}, converged ${result.storm.convergenceMs} ms after the last commit`,
      );
    }
    for (const error of workers.flatMap((w) => w.errors)) {
      const entry = result.reloaderErrors[error.phase] ?? { count: 0, first: error.message };
      entry.count++;
      result.reloaderErrors[error.phase] = entry;
    }
  } finally {
    await writer?.close().catch(() => {});
    await Promise.allSettled(workers.map((w) => w.stop()));
    await db.drop().catch(() => {});
  }
  return result;
}

function roundDistribution(d: Distribution): Distribution {
  return { n: d.n, p50: round(d.p50, 2), p99: round(d.p99, 2), max: round(d.max, 2), mean: round(d.mean, 2) };
}
