/**
 * Section 1b, the microbenchmark: what apphook adds to one request, per binding and mode, in nanoseconds, set
 * against the bare framework's own CPU time per request in the same process. No sockets and no load generator,
 * so what a shared machine adds to end-to-end throughput (scheduling, the other process) is not in it.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startChild } from '../lib/child.js';
import { median, medianCI, round } from '../lib/stats.js';
import type { MicroBinding, MicroVariant } from './apps.js';
import type { MicroChildConfig, MicroSample } from './micro-child.js';

const childPath = fileURLToPath(new URL('./micro-child.ts', import.meta.url));

export const MICRO_BINDINGS: readonly MicroBinding[] = ['express', 'fastify', 'koa', 'hono', 'nestjs'];

export interface MicroOptions {
  routes: number;
  rounds: number;
  timeMs: number;
  log(line: string): void;
}

export interface MicroRow {
  binding: MicroBinding;
  variant: MicroVariant;
  /** Median over rounds of CPU time per request, ns. */
  cpuNs: number;
  wallNs: number;
  /** Median over rounds of (variant − bare) CPU ns per request in the same round, with a 95 % bootstrap CI. */
  addedNs: number;
  addedNsCI: [number, number];
  /** Median over rounds of bare CPU / variant CPU per request (≥ 0.98 is the target), with its CI. */
  ratio: number;
  ratioCI: [number, number];
  iterations: number;
}

export interface MicroResult {
  options: Omit<MicroOptions, 'log'>;
  rows: MicroRow[];
  problems: string[];
}

export async function runMicro(options: MicroOptions): Promise<MicroResult> {
  const rows: MicroRow[] = [];
  const problems: string[] = [];
  for (const binding of MICRO_BINDINGS) {
    const config: MicroChildConfig = {
      binding,
      routes: options.routes,
      rounds: options.rounds,
      timeMs: options.timeMs,
    };
    try {
      const child = await startChild<{ binding: MicroBinding }>(childPath, config);
      try {
        try {
          // One core for the measured process; the parent only waits.
          execFileSync('taskset', ['-apc', '1', String(child.process.pid)], { stdio: 'ignore' });
        } catch {}
        const samples = await child.call<MicroSample[]>('run', undefined, 600_000);
        const of = (v: MicroVariant) =>
          samples.filter((s) => s.variant === v).sort((a, b) => a.round - b.round);
        const bare = of('bare');
        for (const variant of ['bare', 'push', 'interval', 'request'] as const) {
          const mine = of(variant);
          const added = mine.map((s, i) => s.cpuNs - (bare[i]?.cpuNs ?? Number.NaN));
          const ratios = mine.map((s, i) => (bare[i]?.cpuNs ?? Number.NaN) / s.cpuNs);
          const addedCI = medianCI(added);
          const ratioCI = medianCI(ratios);
          const row: MicroRow = {
            binding,
            variant,
            cpuNs: round(median(mine.map((s) => s.cpuNs)), 0),
            wallNs: round(median(mine.map((s) => s.wallNs)), 0),
            addedNs: round(median(added), 0),
            addedNsCI: [round(addedCI[0], 0), round(addedCI[1], 0)],
            ratio: round(median(ratios), 4),
            ratioCI: [round(ratioCI[0], 4), round(ratioCI[1], 4)],
            iterations: mine.reduce((n, s) => n + s.iterations, 0),
          };
          rows.push(row);
          options.log(
            `  ${binding.padEnd(8)} ${variant.padEnd(9)} ${String(row.cpuNs).padStart(7)} ns CPU/req  (+${row.addedNs} ns vs bare, ratio ${row.ratio})`,
          );
        }
      } finally {
        await child.stop();
      }
    } catch (error) {
      problems.push(`micro ${binding}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const { log: _log, ...rest } = options;
  return { options: rest, rows, problems };
}
