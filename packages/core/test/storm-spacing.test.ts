import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** Issue 15, storms: rebuilds are spaced so a burst of commits cannot keep every process rebuilding back to back. */
describe('storm spacing (minRebuildIntervalMs)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const BUILD_MS = 10;

  async function started(options: { minRebuildIntervalMs?: number; minHintIntervalMs?: number } = {}) {
    const store = memoryStore({ logger: false });
    const built: Array<{ version: number; at: number }> = [];
    const binding = callbackBinding({
      rebuildRoutes: async ({ version }) => {
        await new Promise((resolve) => setTimeout(resolve, BUILD_MS));
        built.push({ version, at: Date.now() });
        return { version };
      },
    });
    const reloader = createReloader({ store, binding, mode: 'push', logger: false, ...options });
    const starting = reloader.start();
    await vi.advanceTimersByTimeAsync(BUILD_MS);
    await starting;
    built.length = 0;
    return { store, reloader, built };
  }

  /** Another process commits every `everyMs` for `forMs`; this process hears each commit as a hint. */
  async function storm(store: ReturnType<typeof memoryStore>, everyMs: number, forMs: number) {
    let last = 0;
    for (let t = 0; t < forMs; t += everyMs) {
      last = await store.bump(undefined, 'default');
      await vi.advanceTimersByTimeAsync(everyMs);
    }
    return last;
  }

  it('by default a burst costs one rebuild per 100 ms + its duration, and converges within 100 ms + one rebuild', async () => {
    const { store, reloader, built } = await started();
    const last = await storm(store, 2, 1000);
    const stormEnd = Date.now();
    // 1,000 ms of commits: at most one rebuild per (100 + 10) ms, plus the one the first commit starts at once
    expect(built.length).toBeLessThanOrEqual(Math.ceil(1000 / (100 + BUILD_MS)) + 1);
    expect(built.length).toBeGreaterThanOrEqual(Math.floor(1000 / (100 + BUILD_MS + 20)));
    for (let i = 1; i < built.length; i++) {
      expect(built[i]!.at - built[i - 1]!.at).toBeGreaterThanOrEqual(100 + BUILD_MS);
    }
    await vi.advanceTimersByTimeAsync(100 + BUILD_MS);
    expect(reloader.version).toBe(last);
    expect(built.at(-1)!.at - stormEnd).toBeLessThanOrEqual(100 + BUILD_MS);
    await reloader.stop();
  });

  it('a commit after a quiet spell rebuilds at once', async () => {
    const { store, reloader, built } = await started();
    await vi.advanceTimersByTimeAsync(500);
    const at = Date.now();
    await store.bump(undefined, 'default');
    await vi.advanceTimersByTimeAsync(BUILD_MS);
    expect(reloader.version).toBe(1);
    expect(built[0]!.at - at).toBe(BUILD_MS);
    await reloader.stop();
  });

  it("the writer's own commits are never held back: each resolves after one rebuild", async () => {
    const { store, reloader } = await started();
    for (let i = 1; i <= 5; i++) {
      const at = Date.now();
      const commit = store.transaction((tx) => reloader.markChanged(tx));
      await vi.advanceTimersByTimeAsync(BUILD_MS);
      await expect(commit).resolves.toBe(i);
      expect(Date.now() - at).toBe(BUILD_MS);
    }
    await reloader.stop();
  });

  it('minRebuildIntervalMs: 0 rebuilds back to back, as before', async () => {
    const { store, built } = await started({ minRebuildIntervalMs: 0, minHintIntervalMs: 0 });
    await storm(store, 2, 200);
    expect(built.length).toBeGreaterThanOrEqual(Math.floor(200 / BUILD_MS) - 2);
  });
});
