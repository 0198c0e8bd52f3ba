/**
 * The site workers of one channel group (examples/pages-site), as the propagation, idle and storm parts start
 * them, and what this process hears from them: build reports stamped on arrival, and the reloaders' stats.
 */

import type { ReloaderStats } from '@apphook/core';
import type { BuildInfo } from '@apphook/example-pages-site/site';
import { spawnWorker, type WorkerHandle } from '@apphook/example-pages-site/spawn';
import type { BenchDatabase } from '../lib/database.js';
import { type Distribution, round } from '../lib/stats.js';
import type { ChannelGroup } from './groups.js';
import { Writer } from './writer.js';

export interface Received {
  version: number;
  /** When the report arrived here. */
  at: number;
  /** When that build started, on this process's clock (arrival less the build's duration). */
  startedAt: number;
  durationMs: number;
}

export interface StartOptions {
  safetyIntervalMs: number;
  reloaderOptions?: Record<string, unknown> | undefined;
  redisUrl: string | undefined;
  startTimeoutMs?: number | undefined;
}

/** The Redis channel of a group's bench database: its own, so no other group's workers hear its writer. */
export const redisChannelOf = (db: BenchDatabase) => `apphook:${db.tag}`;

/**
 * Starts `count` workers of `group` on `db`. All or none: when one fails the others are stopped again; a store
 * without a LISTEN push (an older checkout) is a skip with the reason, any other failure is thrown.
 */
export async function startGroupWorkers(
  group: ChannelGroup,
  count: number,
  db: BenchDatabase,
  options: StartOptions,
): Promise<{ workers: WorkerHandle[]; skipped?: undefined } | { workers?: undefined; skipped: string }> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      spawnWorker(
        {
          name: `${group.id} ${i + 1}`,
          // A site worker's build holds two connections (the reloader's snapshot and the site's own read
          // transaction): a storm set's workers (stormSet), their LISTEN connections and the writers then stay
          // within a default Postgres' 100 connections.
          db: { ...db.config, poolMax: WORKER_POOL_MAX },
          scope: 'bench',
          mode: group.mode,
          ...(group.intervalMs ? { intervalMs: group.intervalMs } : {}),
          safetyIntervalMs: options.safetyIntervalMs,
          ...(options.reloaderOptions || group.reloaderOptions
            ? { reloaderOptions: { ...options.reloaderOptions, ...group.reloaderOptions } }
            : {}),
          ...(group.redis ? { redisUrl: options.redisUrl, redisChannel: redisChannelOf(db) } : {}),
        },
        { startTimeoutMs: options.startTimeoutMs ?? 30_000 },
      ),
    ),
  );
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (!failed) return { workers };
  await Promise.allSettled(workers.map((w) => w.stop()));
  const message = String((failed as PromiseRejectedResult).reason?.message ?? failed);
  if (/needs a push channel/.test(message)) {
    return {
      skipped: `not measured: the Postgres store has no LISTEN push in this checkout (${message.slice(0, 160)})`,
    };
  }
  throw new Error(`${group.id}: a worker did not start: ${message}`);
}

/** Connections per worker's pool. */
const WORKER_POOL_MAX = 2;

/** The writer of `group` on `db`: its publish window (`windowMs`) on the channel the group listens to. */
export function openGroupWriter(
  group: ChannelGroup,
  db: BenchDatabase,
  options: StartOptions,
): Promise<Writer> {
  const config =
    group.windowMs === undefined ? db.config : { ...db.config, minNotifyIntervalMs: group.windowMs };
  return Writer.open(config, 'bench', {
    ...(group.redis && options.redisUrl
      ? { redis: { url: options.redisUrl, channel: redisChannelOf(db) } }
      : {}),
    ...(group.windowMs !== undefined ? { minPublishIntervalMs: group.windowMs } : {}),
  });
}

/** Build reports of one worker, stamped when they reached this process. */
export function track(worker: WorkerHandle): Received[] {
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
export function firstAtLeast(received: readonly Received[], version: number): Received | undefined {
  return received.find((r) => r.version >= version);
}

export async function readStats(workers: readonly WorkerHandle[]): Promise<ReloaderStats[]> {
  return Promise.all(
    workers.map(async (w) => {
      const res = await fetch(`${w.url}/__status`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { stats: ReloaderStats };
      return body.stats;
    }),
  );
}

/** Errors the workers' reloaders emitted, by phase, with the first message of each phase. */
export function reloaderErrorsOf(
  workers: readonly WorkerHandle[],
  into: Record<string, { count: number; first: string }> = {},
): Record<string, { count: number; first: string }> {
  for (const error of workers.flatMap((w) => w.errors)) {
    const entry = into[error.phase] ?? { count: 0, first: error.message };
    entry.count++;
    into[error.phase] = entry;
  }
  return into;
}

export function roundDistribution(d: Distribution): Distribution {
  return { n: d.n, p50: round(d.p50, 2), p99: round(d.p99, 2), max: round(d.max, 2), mean: round(d.mean, 2) };
}
