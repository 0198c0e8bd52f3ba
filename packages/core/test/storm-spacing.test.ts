import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  commitStorm,
  controllableStore,
  deferred,
  expectOwnCommitsAtOnce,
  recordingBinding,
  slowBuildReloader,
} from './helpers.js';

/**
 * Issue 15, storms: rebuilds are paced (rebuild-pacing.ts, P1..P4) so a burst of commits cannot keep every process
 * rebuilding back to back, and hints that arrive while a build runs or is pending cost no reads (S8).
 */
describe('storm pacing (minRebuildIntervalMs, maxRebuildIntervalMs, stormQuietMs)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const BUILD_MS = 10;

  async function started(
    options: {
      mode?: 'push' | 'interval';
      intervalMs?: number;
      minRebuildIntervalMs?: number;
      maxRebuildIntervalMs?: number;
      minHintIntervalMs?: number;
    } = {},
  ) {
    return slowBuildReloader(options, BUILD_MS);
  }

  /** Idle time before each build: from the end of the previous one to its start. */
  const gaps = (built: Array<{ at: number }>) => built.slice(1).map((b, i) => b.at - BUILD_MS - built[i]!.at);

  it('a burst: the spacing doubles from 100 ms to 1 s while hints keep coming (P2), a bounded number of rebuilds', async () => {
    const { store, reloader, built } = await started();
    await commitStorm(store, 2, 5000);
    // The leading build, then 100, 200, 400, 800, 1000, 1000... ms apart: 8 in 5 s (back to back it would be ~450).
    expect(built.length).toBeLessThanOrEqual(9);
    const spaced = gaps(built);
    for (let i = 0; i < spaced.length - 1; i++) {
      expect(spaced[i]).toBeGreaterThanOrEqual(Math.min(100 * 2 ** i, 1000));
    }
    await reloader.stop();
  });

  it('the trailing rebuild starts at most stormQuietMs (50 ms) after the last hint (P3)', async () => {
    const { store, reloader, built } = await started();
    const last = await commitStorm(store, 2, 3000);
    const lastHintAt = Date.now() - 2;
    await vi.advanceTimersByTimeAsync(50 + 2 * BUILD_MS);
    expect(reloader.version).toBe(last);
    // started within 50 ms of the last hint, or as soon as the build in flight then ended
    expect(built.at(-1)!.at - BUILD_MS - lastHintAt).toBeLessThanOrEqual(50 + BUILD_MS);
    await reloader.stop();
  });

  it('converges within 100 ms + one rebuild after the last commit of a burst, whatever its length', async () => {
    for (const forMs of [30, 150, 700, 2500]) {
      const { store, reloader } = await started();
      const last = await commitStorm(store, 3, forMs);
      const end = Date.now() - 3;
      await vi.advanceTimersByTimeAsync(100 + BUILD_MS - 3);
      expect(reloader.version, `burst of ${forMs} ms`).toBe(last);
      expect(Date.now() - end).toBe(100 + BUILD_MS);
      await reloader.stop();
    }
  });

  it('an isolated commit rebuilds at once (P1), also once a storm is over (a silence of its spacing, P7)', async () => {
    const { store, reloader, built } = await started();
    await vi.advanceTimersByTimeAsync(500);
    let at = Date.now();
    await store.bump(undefined, 'default');
    await vi.advanceTimersByTimeAsync(BUILD_MS);
    expect(reloader.version).toBe(1);
    expect(built[0]!.at - at).toBe(BUILD_MS);
    await commitStorm(store, 2, 2000);
    // The storm reached the 1 s spacing: 1 s of silence ends it, and the next hint leads a new one.
    await vi.advanceTimersByTimeAsync(1000);
    at = Date.now();
    const v = await store.bump(undefined, 'default');
    await vi.advanceTimersByTimeAsync(BUILD_MS);
    expect(reloader.version).toBe(v);
    expect(built.at(-1)!.at - at).toBe(BUILD_MS);
    await reloader.stop();
  });

  it('a commit shortly after a storm is served by the trailing edge, within stormQuietMs (P3, P7)', async () => {
    const { store, reloader, built } = await started();
    await commitStorm(store, 2, 2000);
    await vi.advanceTimersByTimeAsync(200); // a pause shorter than the storm's spacing: the storm may go on
    const at = Date.now();
    const v = await store.bump(undefined, 'default');
    await vi.advanceTimersByTimeAsync(50 + BUILD_MS + 2);
    expect(reloader.version).toBe(v);
    // 50 ms after the hint (which the memory store delivers a tick after the bump), not 1 s after the last build
    expect(built.at(-1)!.at - BUILD_MS - at).toBeLessThanOrEqual(52);
    await reloader.stop();
  });

  it("the writer's own commits are never held back: each resolves after one rebuild", async () => {
    const { store, reloader } = await started();
    await expectOwnCommitsAtOnce(store, reloader, 5, BUILD_MS);
    await reloader.stop();
  });

  it('polls (interval mode) keep the plain spacing: no backoff without hints (P1)', async () => {
    const { store, reloader, built } = await started({ mode: 'interval', intervalMs: 20 });
    await commitStorm(store, 2, 2000);
    const spaced = gaps(built);
    expect(built.length).toBeGreaterThanOrEqual(12);
    for (const gap of spaced) expect(gap).toBeLessThan(100 + 20 + 2 + 1);
    await reloader.stop();
  });

  it('negative control: maxRebuildIntervalMs = minRebuildIntervalMs turns the backoff off', async () => {
    const { store, reloader, built } = await started({ maxRebuildIntervalMs: 100 });
    await commitStorm(store, 2, 5000);
    // Each rebuild waits 100 ms plus its spread (P6, up to half of it), not a doubling spacing.
    expect(built.length).toBeGreaterThanOrEqual(Math.floor(5000 / (100 * 1.5 + BUILD_MS + 2)));
    await reloader.stop();
  });

  it('minRebuildIntervalMs: 0 rebuilds back to back, as before', async () => {
    const { store, built } = await started({ minRebuildIntervalMs: 0, minHintIntervalMs: 0 });
    await commitStorm(store, 2, 200);
    expect(built.length).toBeGreaterThanOrEqual(Math.floor(200 / BUILD_MS) - 2);
  });
});

describe('hints during a build cost no reads (S8)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  async function started() {
    const { store, control } = controllableStore({ push: true });
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode: 'push',
      safetyIntervalMs: 3_600_000,
      logger: false,
    });
    await reloader.start();
    const listener = [...control.listeners][0]!;
    await vi.advanceTimersByTimeAsync(1000);
    return { control, builds, reloader, listener };
  }

  it('1,000 hints while a build runs: no read until it ends, then one, and the newest version builds next', async () => {
    const { control, builds, reloader, listener } = await started();
    builds.gate = deferred();
    await control.commit();
    listener.hint('default');
    await vi.advanceTimersByTimeAsync(0);
    expect(builds.inFlight).toBe(1);
    const reads = control.reads;
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) await control.commit();
      listener.hint('default');
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(control.reads).toBe(reads);
    builds.gate.resolve();
    builds.gate = undefined;
    await vi.advanceTimersByTimeAsync(0);
    expect(control.reads).toBe(reads + 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reloader.version).toBe(11);
    await reloader.stop();
  });

  it('commits hinted while a paced snapshot build is pending cost no reads: that build reads them (G4)', async () => {
    const inner = memoryStore({ logger: false });
    const store = Object.create(inner) as typeof inner;
    let reads = 0;
    store.read = (scope) => {
      reads++;
      return inner.read(scope);
    };
    const reloader = createReloader({
      store,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
      safetyIntervalMs: 3_600_000,
      logger: false,
    });
    await reloader.start();
    await vi.advanceTimersByTimeAsync(1000);
    const commit = () => inner.transaction((tx) => inner.bump(tx, 'default'));
    await commit();
    await vi.advanceTimersByTimeAsync(0); // the leading build
    expect(reloader.version).toBe(1);
    await commit();
    await vi.advanceTimersByTimeAsync(25); // one throttled read: v2 waits behind the spacing
    expect(reloader.stats().latestSeen).toBe(2);
    const before = reads;
    for (let i = 0; i < 40; i++) {
      await commit();
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(reads).toBe(before);
    expect(reloader.version).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(reloader.version).toBe(42);
    await reloader.stop();
  });

  it('negative control: the same hints while nothing is pending read the store (throttled)', async () => {
    const { control, reloader, listener } = await started();
    const reads = control.reads;
    for (let i = 0; i < 40; i++) {
      listener.hint('default');
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(control.reads - reads).toBeGreaterThanOrEqual(2);
    await reloader.stop();
  });
});
