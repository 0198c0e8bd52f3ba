/** From the in-process samples and the bare framework's CPU over HTTP to one row per binding and variant. */
import { median, medianCI, round } from '../lib/stats.js';
import type { MicroBinding, MicroVariant } from './apps.js';
import type { MicroSample } from './micro-child.js';

export const MICRO_VARIANT_LABELS: Record<MicroVariant, string> = {
  harness: 'harness only (the driver, a listener that just ends the response)',
  bare: 'bare (the framework’s own router)',
  push: 'push',
  interval: 'interval',
  request: 'request (in-memory store)',
  'request-postgres': 'request (PostgreSQL store, one version read per request)',
  'request-sqlite': 'request (SQLite store, one version read per request)',
  'push-handler': 'push, served by binding.handler (no outer Hono app)',
  'push-no-ctx': 'push, forwardExecutionCtx: false (no c.executionCtx probe)',
  'push-light': "push, routing: 'light' (no fresh instance per build)",
};

export interface MicroRow {
  binding: MicroBinding;
  variant: MicroVariant;
  /** Median over rounds of the fastest batch's wall time per request in-process, ns (the harness's included). */
  wallNs: number;
  /** Median over rounds of CPU time per request over all batches, ns (moves with what else runs). */
  cpuNs: number;
  /** Median over rounds of (variant − bare) wall ns per request in the same round, with a 95 % bootstrap CI. */
  addedNs: number;
  addedNsCI: [number, number];
  /** Median over rounds of bare / variant CPU per request in-process: the strict ratio (no socket, no parser). */
  inProcessRatio: number;
  inProcessRatioCI: [number, number];
  /**
   * bare / (bare + added), bare being the framework's own server CPU per request over HTTP: the 0.98 target.
   * Its interval takes the least favourable ends of both: the low end of bare's with the high end of added's.
   */
  httpRatio: number;
  httpRatioCI: [number, number];
  rounds: number;
  iterations: number;
}

export function microRows(
  binding: MicroBinding,
  variants: readonly MicroVariant[],
  samples: readonly MicroSample[],
  bareHttpNs: number,
  bareHttpCI: [number, number],
  bareHttpRange: { cpuNsMin: number; cpuNsMax: number },
): MicroRow[] {
  const of = (v: MicroVariant) => samples.filter((s) => s.variant === v).sort((a, b) => a.round - b.round);
  const bare = of('bare');
  // Under three HTTP rounds there is no bootstrap interval: the observed range stands in for it.
  const [bareLo, bareHi] = Number.isFinite(bareHttpCI[0])
    ? bareHttpCI
    : [bareHttpRange.cpuNsMin, bareHttpRange.cpuNsMax];
  return variants.map((variant) => {
    const mine = of(variant);
    const added = mine.map((s, i) => s.wallNs - (bare[i]?.wallNs ?? Number.NaN));
    const ratios = mine.map((s, i) => (bare[i]?.wallNs ?? Number.NaN) / s.wallNs);
    const addedNs = median(added);
    const addedCI = medianCI(added);
    const ratioCI = medianCI(ratios);
    const comparable = variant !== 'bare' && variant !== 'harness';
    const httpRatio = bareHttpNs / (bareHttpNs + addedNs);
    const httpRatioCI: [number, number] = [bareLo / (bareLo + addedCI[1]), bareHi / (bareHi + addedCI[0])];
    return {
      binding,
      variant,
      cpuNs: round(median(mine.map((s) => s.cpuNs)), 0),
      wallNs: round(median(mine.map((s) => s.wallNs)), 0),
      addedNs: comparable ? round(addedNs, 0) : Number.NaN,
      addedNsCI: comparable ? [round(addedCI[0], 0), round(addedCI[1], 0)] : [Number.NaN, Number.NaN],
      inProcessRatio: comparable ? round(median(ratios), 4) : Number.NaN,
      inProcessRatioCI: comparable ? [round(ratioCI[0], 4), round(ratioCI[1], 4)] : [Number.NaN, Number.NaN],
      httpRatio: comparable ? round(httpRatio, 4) : Number.NaN,
      httpRatioCI: comparable
        ? [round(httpRatioCI[0], 4), round(httpRatioCI[1], 4)]
        : [Number.NaN, Number.NaN],
      rounds: mine.length,
      iterations: mine.reduce((n, s) => n + s.iterations, 0),
    };
  });
}
