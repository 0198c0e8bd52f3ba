import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stormWorker } from './helpers.js';

/*
 * P6 (rebuild-pacing.ts): processes that hear the same storm do not rebuild at the same moments. Two schedulers
 * (two worker processes) hear the same hints, every 2 ms for 3 s, with fake timers; every storm rebuild waits its
 * P2 spacing plus a random extra of up to half of it, so their rebuilds drift apart, while the spacing bounds of
 * P2 hold and the trailing rebuild (P3) still converges at once. The negative control runs the naive pacing
 * (no spread): the two rebuild at exactly the same moments.
 */

const MIN_MS = 100;
const MAX_MS = 1000;
const QUIET_MS = 50;
const BUILD_MS = 10;

const worker = (naive: boolean) =>
  stormWorker({ minMs: MIN_MS, maxMs: MAX_MS, quietMs: QUIET_MS, naive }, BUILD_MS);

async function storm(naive: boolean) {
  const a = worker(naive);
  const b = worker(naive);
  for (const w of [a, b]) {
    w.scheduler.raise(0);
    w.scheduler.run();
  }
  await vi.advanceTimersByTimeAsync(BUILD_MS + MIN_MS);
  a.starts.length = 0;
  b.starts.length = 0;
  let version = 0;
  for (let t = 0; t < 3000; t += 2) {
    version++;
    a.hear(version);
    b.hear(version);
    await vi.advanceTimersByTimeAsync(2);
  }
  await vi.advanceTimersByTimeAsync(QUIET_MS + 2 * BUILD_MS);
  const served = [a.scheduler.served, b.scheduler.served];
  for (const w of [a, b]) await w.scheduler.stop(new Error('done'));
  return { a: a.starts, b: b.starts, served, version };
}

describe('storm rebuilds are spread between processes (P6)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('two processes hearing the same storm rebuild at different moments, within the P2 spacing + half of it, and both converge', async () => {
    const { a, b, served, version } = await storm(false);
    expect(served).toEqual([version, version]);
    // The leading rebuild is immediate on both (P1); every later storm rebuild of one is spread on its own.
    const shared = a.slice(1, -1).filter((t) => b.includes(t));
    expect(shared.length).toBeLessThanOrEqual(1);
    for (const starts of [a, b]) {
      const gaps = starts.slice(1, -1).map((t, i) => t - BUILD_MS - starts[i]!);
      gaps.forEach((gap, i) => {
        const spacing = Math.min(MIN_MS * 2 ** i, MAX_MS);
        expect(gap).toBeGreaterThanOrEqual(spacing);
        expect(gap).toBeLessThanOrEqual(spacing * 1.5 + 2);
      });
    }
  });

  it('negative control: without the spread (naive pacing) the two rebuild at exactly the same moments', async () => {
    const { a, b, served, version } = await storm(true);
    expect(served).toEqual([version, version]);
    expect(a.length).toBeGreaterThan(3);
    expect(a).toEqual(b);
  });
});
