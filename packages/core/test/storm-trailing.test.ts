import { ApphookOptionError, callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commitStorm, expectOwnCommitsAtOnce, slowBuildReloader } from './helpers.js';

/**
 * Issue 15, `leadingRebuild: false` (rebuild-pacing.ts P8): a rebuild a push hint asked for waits for the trailing
 * edge (`stormQuietMs` without a hint), at most `maxRebuildIntervalMs` (+ P6's spread) after it became due. A burst
 * costs one rebuild at its end; an isolated commit is served `stormQuietMs` later; nothing a caller waits for, and
 * nothing a poll found, is held. The model (storm-model.test.ts, M3' and M5) checks the same over random schedules.
 */
describe('leadingRebuild: false (P8)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const BUILD_MS = 10;

  async function started(options: {
    leadingRebuild?: boolean;
    mode?: 'push' | 'interval';
    intervalMs?: number;
  }) {
    const started = await slowBuildReloader(options, BUILD_MS);
    await vi.advanceTimersByTimeAsync(2000); // a quiet spell: no storm, the spacing passed
    return started;
  }

  it('an isolated commit is served stormQuietMs (50 ms) after its hint, not at once', async () => {
    const { store, reloader, built } = await started({ leadingRebuild: false });
    const at = Date.now();
    const v = await store.bump(undefined, 'default');
    await vi.advanceTimersByTimeAsync(49);
    expect(reloader.version).toBe(0);
    await vi.advanceTimersByTimeAsync(1 + BUILD_MS + 1);
    expect(reloader.version).toBe(v);
    // The memory store delivers the hint a tick after the bump.
    expect(built[0]!.startedAt - at).toBeGreaterThanOrEqual(50);
    expect(built[0]!.startedAt - at).toBeLessThanOrEqual(51);
    await reloader.stop();
  });

  it('a 700 ms burst costs one rebuild, at its end, and converges within 50 ms + one rebuild', async () => {
    const { store, reloader, built } = await started({ leadingRebuild: false });
    const last = await commitStorm(store, 3, 700);
    const end = Date.now() - 3;
    expect(built).toEqual([]);
    await vi.advanceTimersByTimeAsync(50 + BUILD_MS);
    expect(reloader.version).toBe(last);
    expect(built).toHaveLength(1);
    expect(built[0]!.startedAt - end).toBeGreaterThanOrEqual(50);
    await reloader.stop();
  });

  it('negative control: with the leading edge (the default) the same burst rebuilds at its first hint and during it', async () => {
    const { store, reloader, built } = await started({});
    const start = Date.now();
    await commitStorm(store, 3, 700);
    expect(built[0]!.startedAt - start).toBeLessThanOrEqual(1);
    expect(built.length).toBeGreaterThanOrEqual(3);
    await vi.advanceTimersByTimeAsync(50 + BUILD_MS);
    await reloader.stop();
  });

  it('a long storm rebuilds about once per maxRebuildIntervalMs (1 s, spread by up to half), not at every hint', async () => {
    const { store, reloader, built } = await started({ leadingRebuild: false });
    const last = await commitStorm(store, 2, 6000);
    expect(built.length).toBeGreaterThanOrEqual(4);
    expect(built.length).toBeLessThanOrEqual(6);
    const starts = built.map((b) => b.startedAt);
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i]! - (starts[i - 1]! + BUILD_MS); // from the end of the previous one
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThanOrEqual(1500 + 2);
    }
    await vi.advanceTimersByTimeAsync(50 + 2 * BUILD_MS);
    expect(reloader.version).toBe(last);
    await reloader.stop();
  });

  it("the process's own commits are not held: each resolves after one rebuild", async () => {
    const { store, reloader } = await started({ leadingRebuild: false });
    await expectOwnCommitsAtOnce(store, reloader, 3, BUILD_MS);
    await reloader.stop();
  });

  it('a version a poll found is not held (interval mode: no hints)', async () => {
    const { store, reloader, built } = await started({
      leadingRebuild: false,
      mode: 'interval',
      intervalMs: 100,
    });
    const v = await store.bump(undefined, 'default');
    const at = Date.now();
    await vi.advanceTimersByTimeAsync(100 + 10 + BUILD_MS + 1); // the poll (100 ms + jitter up to 10 ms) and its build
    expect(reloader.version).toBe(v);
    // The build started as the poll's read returned, not stormQuietMs later.
    expect(built[0]!.startedAt - at).toBeLessThanOrEqual(111);
    await reloader.stop();
  });

  it('rejects a leadingRebuild that is not a boolean (G11)', () => {
    const store = memoryStore({ logger: false });
    const binding = callbackBinding({ rebuildRoutes: () => true });
    expect(() => createReloader({ store, binding, leadingRebuild: 'no' as never })).toThrow(
      ApphookOptionError,
    );
    expect(() => createReloader({ store, binding, leadingRebuild: 'no' as never })).toThrow(
      /leadingRebuild must be true or false, got/,
    );
  });
});
