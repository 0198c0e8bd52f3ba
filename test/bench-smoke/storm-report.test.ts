/**
 * The storm's verdict (section 3) from its rounds, on made-up rounds: per-round ratios decide it, the confidence
 * interval says whether it is decided, and a report written before the rounds renders as the older format.
 */
import { describe, expect, it } from 'vitest';
import { CHANNEL_GROUPS, STORM_BASELINE } from '../bench/channels/groups.js';
import type { ChannelResult } from '../bench/channels/run-channels.js';
import { roundOrder, type StormRound, stormRatio, summarize } from '../bench/channels/run-storm.js';
import type { BenchSettings } from '../bench/report/markdown.js';
import { stormSection, stormTargets, upgradeOlderStorms } from '../bench/report/storm.js';

const machine = { loadAverageStart: 1, cores: 2 };
const group = (id: string) => CHANNEL_GROUPS.find((g) => g.id === id)!;
const settings: BenchSettings['channels'] = {
  workers: 8,
  routes: 50,
  idleS: 4,
  safetyIntervalMs: 2000,
  commits: 100,
  pauseMs: [20, 120],
  spacingMs: 100,
  stormRounds: 12,
  stormCommits: 400,
  stormMaxMs: 6000,
};

function rounds(rates: number[]): StormRound[] {
  return rates.map((commitsPerSec, r) => ({
    round: r,
    position: r % 4,
    commits: 400,
    capped: false,
    durationMs: (400 / commitsPerSec) * 1000,
    commitsPerSec,
    rebuildsPerWorker: Array(8).fill(4),
    readsPerWorker: Array(8).fill(5),
    convergenceMs: 90,
    convergenceLessRebuildMs: 60,
    lastRebuildMs: 30,
    backgroundReadsPerSec: 90,
  }));
}

/** The push group's and the baseline's channel results, the push group's ratio taken per round. */
function channels(push: number[], baseline: number[]): ChannelResult[] {
  const base: ChannelResult = {
    group: group(STORM_BASELINE),
    workers: 8,
    reloaderErrors: {},
    storm: summarize(rounds(baseline)),
  };
  const storm = summarize(rounds(push));
  storm.ratio = stormRatio(storm.rounds, base.storm!.rounds);
  return [{ group: group('pg-notify'), workers: 8, reloaderErrors: {}, storm }, base];
}

describe('storm rounds', () => {
  it('puts every group in every position of a round, after two different groups', () => {
    const groups = ['a', 'b', 'c', 'd', 'e'];
    const orders = Array.from({ length: 2 * groups.length }, (_, r) => roundOrder(groups, r));
    for (const order of orders) expect([...order].sort()).toEqual(groups);
    for (const g of groups) {
      const positions = new Set(orders.map((o) => o.indexOf(g)));
      expect(positions.size).toBe(groups.length);
      const before = new Set(orders.map((o) => o[o.indexOf(g) - 1]).filter(Boolean));
      expect(before.size).toBeGreaterThanOrEqual(2);
    }
  });

  it('meets the target when push keeps 0.9 of a baseline that drifts from 310 to 470 commits/s', () => {
    const baseline = Array.from({ length: 12 }, (_, r) => 310 + (160 * r) / 11);
    const c = channels(
      baseline.map((b, r) => b * [0.88, 0.9, 0.92][r % 3]!),
      baseline,
    );
    const [target] = stormTargets(c, machine);
    expect(target!.status).toBe('met');
    expect(target!.note).toMatch(/conclusive: the whole interval is at or above 0.80/);
    // Negative control: one storm each, minutes apart (push early, the baseline late) judges the same code missed.
    const single = channels([c[0]!.storm!.rounds[0]!.commitsPerSec], [baseline.at(-1)!]);
    expect(single[0]!.storm!.ratio!.median).toBeLessThan(0.8);
  });

  it('misses it when every round is below 0.80, and is inconclusive when the rounds straddle it', () => {
    const baseline = Array(12).fill(400);
    expect(
      stormTargets(
        channels(
          baseline.map(() => 280),
          baseline,
        ),
        machine,
      )[0]!.status,
    ).toBe('missed');
    const straddling = baseline.map((_, r) => (r % 2 ? 260 : 380));
    const [target] = stormTargets(channels(straddling, baseline), machine);
    expect(target!.status).toBe('inconclusive');
    expect(target!.note).toMatch(/the interval contains it/);
  });

  it('renders a report written before the rounds as the older format, judging no ratio from it', () => {
    const single = (commitsPerSec: number) => ({
      commits: 1000,
      capped: false,
      durationMs: 1_000_000 / commitsPerSec,
      commitsPerSec,
      rebuildsPerWorker: [7, 10],
      readsPerWorker: [8, 12],
      convergenceMs: 110,
      convergenceLessRebuildMs: 84,
      lastRebuildMs: 38,
    });
    const older = [
      { group: group('pg-notify'), workers: 8, reloaderErrors: {}, storm: single(204) },
      { group: group(STORM_BASELINE), workers: 8, reloaderErrors: {}, storm: single(305) },
    ] as unknown as ChannelResult[];
    upgradeOlderStorms(older);
    const [target] = stormTargets(older, machine);
    expect(target!.status).toBe('inconclusive');
    expect(target!.note).toMatch(/older format/);
    const { stormRounds: _, ...olderSettings } = settings;
    const section = stormSection(older, { ...olderSettings, stormCommits: 1000 });
    expect(section).toContain('Measured by an older version of this section');
    expect(section).toContain('too few rounds to decide');
  });
});
