/**
 * Section 5, scale: rebuild time and memory for growing route tables, per binding, each binding in a process
 * of its own so one framework's heap never counts against another.
 */
import { fileURLToPath } from 'node:url';
import { startChild } from '../lib/child.js';
import type { BindingName, ScaleChildConfig, ScaleRow } from './scale-child.js';

const childPath = fileURLToPath(new URL('./scale-child.ts', import.meta.url));

export const BINDINGS: readonly BindingName[] = [
  'express',
  'fastify',
  'fastify-nohead',
  'fastify-light',
  'koa',
  'hono',
];

export interface ScaleOptions {
  sizes: number[];
  rebuilds: number;
  log(line: string): void;
}

export interface ScaleResult {
  sizes: number[];
  rebuilds: number;
  rows: ScaleRow[];
  problems: string[];
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const rows: ScaleRow[] = [];
  const problems: string[] = [];
  for (const binding of BINDINGS) {
    const config: ScaleChildConfig = { binding, sizes: options.sizes, rebuilds: options.rebuilds };
    try {
      const child = await startChild<{ binding: BindingName }>(childPath, config, {
        execArgv: ['--expose-gc'],
      });
      try {
        const measured = await child.call<ScaleRow[]>('run', undefined, 300_000);
        for (const row of measured) {
          options.log(
            `  ${binding.padEnd(14)} ${String(row.routes).padStart(6)} routes: rebuild p50 ${row.rebuildP50Ms} ms, first request ${row.firstRequestMs} ms, heap ${row.heapMb} MB`,
          );
        }
        rows.push(...measured);
      } finally {
        await child.stop();
      }
    } catch (error) {
      problems.push(`scale ${binding}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { sizes: options.sizes, rebuilds: options.rebuilds, rows, problems };
}
