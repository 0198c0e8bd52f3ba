/**
 * Section 6, fan-out and tenants, on PostgreSQL.
 * - Fan-out: one commit to many reloaders of one scope, spread over a few processes (one store and one channel
 *   per process), over Redis and over Postgres LISTEN: time until every reloader serves it.
 * - Tenants: many scopes in one process (one reloader each, one store, one LISTEN): memory, start time, and that
 *   a commit in one scope rebuilds that scope only.
 */
import { fileURLToPath } from 'node:url';
import { Writer } from '../channels/writer.js';
import { type Child, startChild } from '../lib/child.js';
import { createBenchDatabase } from '../lib/database.js';
import { type Distribution, distribution, round, sleep } from '../lib/stats.js';
import type { FanOutChildConfig, FanOutChildInfo } from './fan-out-child.js';

const childPath = fileURLToPath(new URL('./fan-out-child.ts', import.meta.url));

export interface FanOutOptions {
  reloaders: number;
  processes: number;
  commits: number;
  tenants: number;
  redisUrl: string | undefined;
  log(line: string): void;
}

export interface FanOutRow {
  channel: 'Redis' | 'Postgres LISTEN';
  reloaders: number;
  processes: number;
  commits: number;
  /** Per commit: until every reloader served it, ms. */
  allReloaders: Distribution;
  /** Every (commit, reloader) pair, ms. */
  eachReloader: Distribution;
  /** Start of all reloaders of one process (their first builds), ms, max over processes. */
  startMs: number;
  skipped?: string;
}

export interface TenantResult {
  scopes: number;
  startMs: number;
  heapMb: number;
  heapKbPerScope: number;
  rssMb: number;
  /** After one commit in one scope: builds in that scope, and in all the others together. */
  rebuiltInScope: number;
  rebuiltElsewhere: number;
  /** From that commit until its scope served it, ms. */
  propagationMs: number;
}

export interface FanOutResult {
  options: Omit<FanOutOptions, 'log' | 'redisUrl'>;
  rows: FanOutRow[];
  tenants?: TenantResult;
  problems: string[];
}

const wall = (performanceNow: number) => performance.timeOrigin + performanceNow;

function rounded(d: Distribution): Distribution {
  return { n: d.n, p50: round(d.p50, 2), p99: round(d.p99, 2), max: round(d.max, 2), mean: round(d.mean, 2) };
}

async function fanOut(channel: FanOutRow['channel'], options: FanOutOptions): Promise<FanOutRow> {
  const redis = channel === 'Redis';
  const db = await createBenchDatabase('postgres', 1, { pgChannel: !redis });
  const redisConfig = redis ? { url: options.redisUrl!, channel: `apphook:${db.tag}` } : undefined;
  const children: Array<Child<FanOutChildInfo>> = [];
  let writer: Writer | undefined;
  try {
    const per = Math.ceil(options.reloaders / options.processes);
    const configs: FanOutChildConfig[] = Array.from({ length: options.processes }, (_, i) => ({
      db: db.config,
      scopes: Array.from({ length: Math.min(per, options.reloaders - i * per) }, () => 'fan-out'),
      ...(redisConfig ? { redis: redisConfig } : {}),
    }));
    for (const config of configs) {
      children.push(await startChild<FanOutChildInfo>(childPath, config, { startTimeoutMs: 120_000 }));
    }
    writer = await Writer.open(db.config, 'fan-out', redisConfig ? { redis: redisConfig } : {});
    const all: number[] = [];
    const each: number[] = [];
    for (let i = 0; i < options.commits; i++) {
      await sleep(200 + Math.random() * 200);
      const commit = await writer.rename(db.paths[0]!, `fan-out ${i}`);
      const committedAt = wall(commit.committedAt);
      const times = (
        await Promise.all(
          children.map((c) => c.call<number[]>('waitAll', { version: commit.version, timeoutMs: 60_000 })),
        )
      ).flat();
      const delays = times.map((t) => t - committedAt);
      each.push(...delays);
      all.push(Math.max(...delays));
    }
    const row: FanOutRow = {
      channel,
      reloaders: options.reloaders,
      processes: options.processes,
      commits: options.commits,
      allReloaders: rounded(distribution(all)),
      eachReloader: rounded(distribution(each)),
      startMs: round(Math.max(...children.map((c) => c.info.startMs)), 1),
    };
    options.log(
      `  fan-out ${channel.padEnd(15)} ${options.reloaders} reloaders in ${options.processes} processes: all p50 ${row.allReloaders.p50} ms, p99 ${row.allReloaders.p99} ms; each p50 ${row.eachReloader.p50} ms`,
    );
    return row;
  } finally {
    await writer?.close().catch(() => {});
    await Promise.allSettled(children.map((c) => c.stop()));
    await db.drop().catch(() => {});
  }
}

async function tenants(options: FanOutOptions): Promise<TenantResult> {
  const db = await createBenchDatabase('postgres', 1, { pgChannel: true });
  const scopes = Array.from({ length: options.tenants }, (_, i) => `tenant-${i}`);
  let child: Child<FanOutChildInfo> | undefined;
  let writer: Writer | undefined;
  try {
    child = await startChild<FanOutChildInfo>(
      childPath,
      { db: db.config, scopes } satisfies FanOutChildConfig,
      {
        execArgv: ['--expose-gc'],
        startTimeoutMs: 180_000,
      },
    );
    const target = Math.floor(options.tenants / 2);
    writer = await Writer.open(db.config, scopes[target]!);
    const before = await child.call<number[]>('builds');
    const commit = await writer.rename(db.paths[0]!, 'tenant change');
    const times = await waitScope(child, commit.version, target, options.tenants);
    await sleep(500); // room for any wrong rebuild elsewhere to show
    const after = await child.call<number[]>('builds');
    const delta = after.map((n, i) => n - before[i]!);
    const result: TenantResult = {
      scopes: options.tenants,
      startMs: round(child.info.startMs, 1),
      heapMb: round(child.info.heapMb, 2),
      heapKbPerScope: round((child.info.heapMb * 1024) / options.tenants, 2),
      rssMb: round(child.info.rssMb, 1),
      rebuiltInScope: delta[target]!,
      rebuiltElsewhere: delta.reduce((n, d, i) => (i === target ? n : n + d), 0),
      propagationMs: round(times - wall(commit.committedAt), 2),
    };
    options.log(
      `  tenants ${options.tenants} scopes in one process: start ${result.startMs} ms, heap ${result.heapMb} MB (${result.heapKbPerScope} KB per scope); one commit rebuilt ${result.rebuiltInScope} in its scope, ${result.rebuiltElsewhere} elsewhere`,
    );
    return result;
  } finally {
    await writer?.close().catch(() => {});
    await child?.stop();
    await db.drop().catch(() => {});
  }
}

/** When the reloader of scope `index` first served `version` (wall clock); the others may stay where they are. */
async function waitScope(
  child: Child<FanOutChildInfo>,
  version: number,
  index: number,
  count: number,
): Promise<number> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const builds = await child.call<number[]>('builds');
    if (builds.length !== count) throw new Error(`tenants: ${builds.length} reloaders, expected ${count}`);
    const at = await child.call<number | null>('arrival', { version, index });
    if (at !== null) return at;
    if (performance.now() > deadline)
      throw new Error(`tenant scope ${index} never served version ${version}`);
    await sleep(10);
  }
}

export async function runFanOut(options: FanOutOptions): Promise<FanOutResult> {
  const rows: FanOutRow[] = [];
  const problems: string[] = [];
  const base = { reloaders: options.reloaders, processes: options.processes, commits: 0 };
  for (const channel of ['Postgres LISTEN', 'Redis'] as const) {
    if (channel === 'Redis' && !options.redisUrl) {
      rows.push({
        channel,
        ...base,
        allReloaders: empty(),
        eachReloader: empty(),
        startMs: Number.NaN,
        skipped: 'Redis is not reachable',
      });
      continue;
    }
    try {
      rows.push(await fanOut(channel, options));
    } catch (error) {
      problems.push(`fan-out ${channel}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  let tenantResult: TenantResult | undefined;
  try {
    tenantResult = await tenants(options);
    if (tenantResult.rebuiltInScope < 1 || tenantResult.rebuiltElsewhere !== 0) {
      problems.push(
        `tenants: one commit rebuilt ${tenantResult.rebuiltInScope} time(s) in its scope and ${tenantResult.rebuiltElsewhere} time(s) in other scopes (expected ≥ 1 and 0)`,
      );
    }
  } catch (error) {
    problems.push(`tenants: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { log: _log, redisUrl: _redis, ...rest } = options;
  return { options: rest, rows, ...(tenantResult ? { tenants: tenantResult } : {}), problems };
}

function empty(): Distribution {
  return { n: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
}
