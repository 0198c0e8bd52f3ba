/**
 * Section 1b, the microbenchmark: what apphook adds to one request, per binding and mode, in nanoseconds, set
 * against the bare framework's own server CPU time per request over HTTP. The added nanoseconds come from one
 * process per binding driving every variant in-process (micro-child.ts), where a request costs a few
 * microseconds and the harness is the same for every variant; the scale comes from the same process serving the
 * bare variant over HTTP to autocannon (server on core 1, load generator on core 0, as section 1).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DbConfig } from '@apphook/example-pages-site/db';
import autocannon from 'autocannon';
import { startChild } from '../lib/child.js';
import { type BenchDatabase, createBenchDatabase } from '../lib/database.js';
import { median, medianCI, round } from '../lib/stats.js';
import type { MicroBinding, MicroVariant } from './apps.js';
import type { MicroChildConfig, MicroSample } from './micro-child.js';
import { type MicroRow, microRows } from './micro-rows.js';

const childPath = fileURLToPath(new URL('./micro-child.ts', import.meta.url));

export const MICRO_BINDINGS: readonly MicroBinding[] = ['express', 'fastify', 'koa', 'hono', 'nestjs'];
const MODES: readonly MicroVariant[] = ['harness', 'bare', 'push', 'interval', 'request'];

export interface MicroOptions {
  routes: number;
  /** Interleaved rounds in-process; each keeps every variant's fastest of `batches` batches. */
  rounds: number;
  batches: number;
  /** Wall time of one batch of the bare variant, ms. */
  batchMs: number;
  /** Rounds of the bare framework over HTTP, and their length in whole seconds (autocannon). */
  httpRounds: number;
  httpDurationS: number;
  /** Requests sent before the HTTP rounds (JIT warm-up). */
  httpWarmup: number;
  connections: number;
  /** Also measure request mode on these real stores (Express only; none in the quick run, to keep it short). */
  stores: Array<'postgres' | 'sqlite'>;
  /** Only these bindings (`--bindings`, for a before/after of one binding); all when absent. */
  bindings?: readonly MicroBinding[];
  log(line: string): void;
}

export type { MicroRow } from './micro-rows.js';

/** The bare framework over HTTP: its server's CPU time per request, per round. */
export interface MicroHttp {
  binding: MicroBinding;
  /** Median over rounds, ns; with the min–max and the 95 % bootstrap CI of the median (NaN under 3 rounds). */
  cpuNs: number;
  cpuNsMin: number;
  cpuNsMax: number;
  cpuNsCI: [number, number];
  reqPerSec: number;
  rounds: number[];
}

export interface MicroResult {
  options: Omit<MicroOptions, 'log'>;
  placement: string;
  http: MicroHttp[];
  rows: MicroRow[];
  problems: string[];
}

/** `taskset -a -p -c cpus pid`, `false` when taskset is missing or refused. */
function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-apc', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function runMicro(options: MicroOptions): Promise<MicroResult> {
  const rows: MicroRow[] = [];
  const http: MicroHttp[] = [];
  const problems: string[] = [];
  const cores = os.availableParallelism();
  const all = `0-${cores - 1}`;
  const pinned = cores >= 2 && pin(process.pid, all);
  const placement = pinned
    ? 'the measured process on core 1; over HTTP the load generator (this process) on core 0'
    : `not pinned (${cores < 2 ? 'one core' : 'taskset missing or refused'})`;
  const databases: MicroChildConfig['databases'] = {};
  const created: BenchDatabase[] = [];
  try {
    for (const kind of options.stores) {
      try {
        const db = await createBenchDatabase(kind, 0);
        created.push(db);
        databases[kind] = db.config as DbConfig;
      } catch (error) {
        problems.push(`micro: could not create the ${kind} database: ${String(error)}`);
      }
    }
    for (const binding of options.bindings ?? MICRO_BINDINGS) {
      const variants: MicroVariant[] = [...MODES];
      if (binding === 'hono') variants.push('push-no-ctx', 'push-handler');
      if (binding === 'fastify') variants.push('push-light');
      if (binding === 'express') {
        if (databases.postgres) variants.push('request-postgres');
        if (databases.sqlite) variants.push('request-sqlite');
      }
      const config: MicroChildConfig = {
        binding,
        variants,
        routes: options.routes,
        rounds: options.rounds,
        batches: options.batches,
        batchMs: options.batchMs,
        databases,
      };
      try {
        if (pinned) pin(process.pid, all);
        const child = await startChild<{ binding: MicroBinding }>(childPath, config, {
          startTimeoutMs: 120_000,
        });
        try {
          if (pinned) pin(child.process.pid!, '1');
          const samples = await child.call<MicroSample[]>('run', undefined, 900_000);
          const served = await serveOverHttp(child, options, pinned);
          http.push({ binding, ...served });
          const measured = microRows(binding, variants, samples, served.cpuNs, served.cpuNsCI, served);
          rows.push(...measured);
          options.log(
            `  ${binding.padEnd(8)} bare over HTTP: ${round(served.cpuNs / 1000, 1)} us CPU/req (${round(served.cpuNsMin / 1000, 1)}–${round(served.cpuNsMax / 1000, 1)}), ${Math.round(served.reqPerSec)} req/s`,
          );
          for (const row of measured) {
            options.log(
              `  ${binding.padEnd(8)} ${row.variant.padEnd(16)} ${String(Math.round(row.wallNs)).padStart(7)} ns/req in-process (CPU ${Math.round(row.cpuNs)})` +
                (row.variant === 'bare' || row.variant === 'harness'
                  ? ''
                  : `  +${Math.round(row.addedNs)} ns [${Math.round(row.addedNsCI[0])}, ${Math.round(row.addedNsCI[1])}]  ratio over HTTP ${row.httpRatio} [${row.httpRatioCI[0]}, ${row.httpRatioCI[1]}]`),
            );
          }
        } finally {
          await child.stop();
        }
      } catch (error) {
        problems.push(`micro ${binding}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    if (pinned) pin(process.pid, all);
    for (const db of created) {
      await db.drop().catch((error: unknown) => problems.push(`micro: cleanup failed: ${String(error)}`));
    }
  }
  const { log: _log, ...rest } = options;
  return { options: rest, placement, http, rows, problems };
}

/** The bare variant served over HTTP by the child, loaded by autocannon here: server CPU per request. */
async function serveOverHttp(
  child: Awaited<ReturnType<typeof startChild<{ binding: MicroBinding }>>>,
  options: MicroOptions,
  pinned: boolean,
): Promise<Omit<MicroHttp, 'binding'>> {
  const port = await child.call<number>('serve');
  const load = (limit: { duration: number } | { amount: number }) =>
    autocannon({
      url: `http://127.0.0.1:${port}/page-${Math.floor(options.routes / 2)}`,
      connections: options.connections,
      pipelining: 1,
      ...limit,
    });
  if (pinned) pin(process.pid, '0');
  try {
    await load({ amount: options.httpWarmup });
    const rounds: number[] = [];
    const rates: number[] = [];
    for (let r = 0; r < options.httpRounds; r++) {
      const c0 = await child.call<number>('cpu');
      const result = await load({ duration: options.httpDurationS });
      const c1 = await child.call<number>('cpu');
      if (result.errors > 0 || result.non2xx > 0)
        throw new Error(`over HTTP: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
      rounds.push(((c1 - c0) * 1000) / Math.max(1, result.requests.total));
      rates.push(result.requests.total / result.duration);
    }
    const ci = medianCI(rounds);
    return {
      cpuNs: median(rounds),
      cpuNsMin: Math.min(...rounds),
      cpuNsMax: Math.max(...rounds),
      cpuNsCI: ci,
      reqPerSec: median(rates),
      rounds: rounds.map((x) => round(x, 0)),
    };
  } finally {
    if (pinned) pin(process.pid, `0-${os.availableParallelism() - 1}`);
  }
}
