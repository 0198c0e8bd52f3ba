import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stormWorker } from './helpers.js';

/*
 * P7 (rebuild-pacing.ts): a pause of the writer inside a storm does not restart the backoff. On a busy machine the
 * writer itself gets no CPU now and then (the workers' rebuilds take it), so its hints stop for longer than
 * stormQuietMs and start again. The trailing edge (P3) rebuilds in every such pause, as it must (the pause may be
 * the end of the storm); with P7 that rebuild counts as one more of the storm and the spacing keeps growing. The
 * negative control ends the storm after stormQuietMs of silence (the pacing before P7): after every pause the
 * spacing starts again at minRebuildIntervalMs, and the same storm rebuilds about twice as often.
 * Fake timers: hints every 2 ms for 4 s, with a 70 ms pause every 300 ms.
 */

const MIN_MS = 100;
const MAX_MS = 1000;
const QUIET_MS = 50;
const BUILD_MS = 10;
const STORM_MS = 4000;
const PAUSE_EVERY_MS = 300;
const PAUSE_MS = 70;

async function pausingStorm(endOnQuiet: boolean) {
  const { scheduler, starts, hear } = stormWorker(
    { minMs: MIN_MS, maxMs: MAX_MS, quietMs: QUIET_MS, endOnQuiet },
    BUILD_MS,
  );
  let committed = 0;
  scheduler.raise(0);
  scheduler.run();
  await vi.advanceTimersByTimeAsync(BUILD_MS + MIN_MS);
  starts.length = 0;
  const t0 = Date.now();
  const pauses: number[] = [];
  while (Date.now() - t0 < STORM_MS) {
    const t = Date.now() - t0;
    if (t > 0 && t % PAUSE_EVERY_MS === 0) {
      pauses.push(Date.now());
      await vi.advanceTimersByTimeAsync(PAUSE_MS);
    }
    hear(++committed);
    await vi.advanceTimersByTimeAsync(2);
  }
  await vi.advanceTimersByTimeAsync(QUIET_MS + 2 * BUILD_MS);
  const served = scheduler.served;
  await scheduler.stop(new Error('done'));
  return { starts, pauses, served, committed };
}

describe('a storm whose writer pauses (P7)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps its backoff through pauses longer than stormQuietMs, still rebuilds in each pause (P3) and converges', async () => {
    const paced = await pausingStorm(false);
    const naive = await pausingStorm(true);
    expect(paced.served).toBe(paced.committed);
    expect(naive.served).toBe(naive.committed);
    // The trailing edge: a rebuild starts within QUIET_MS (+ the build in flight) of every pause's start.
    for (const pause of paced.pauses) {
      expect(paced.starts.some((t) => t >= pause && t <= pause + QUIET_MS + BUILD_MS)).toBe(true);
    }
    // One rebuild per pause, the leading one and the trailing one, and a few spaced ones the doubling allows.
    const bound = paced.pauses.length + 2 + Math.ceil(Math.log2(MAX_MS / MIN_MS));
    expect(paced.starts.length).toBeLessThanOrEqual(bound);
    // The negative control: every pause restarts the spacing at 100 ms, which costs at least one more rebuild
    // before the next pause (measured: 16 against 36).
    expect(naive.starts.length).toBeGreaterThanOrEqual(paced.starts.length + naive.pauses.length);
  });
});
