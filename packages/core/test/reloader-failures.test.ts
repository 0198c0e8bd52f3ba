import { ApphookRebuildError, backoffDelay, createReloader } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllableStore, deferred, recordingBinding } from './helpers.js';

describe('last good wins (G5)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  async function started(extra: { rebuildTimeoutMs?: number } = {}) {
    const { store, control } = controllableStore();
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode: 'interval',
      intervalMs: 60_000,
      retryBaseMs: 1000,
      retryMaxMs: 8000,
      logger: false,
      ...extra,
    });
    const errors: Array<{ phase: string; error: unknown }> = [];
    reloader.on('error', (e) => errors.push(e));
    await reloader.start();
    return { control, builds, reloader, errors };
  }

  it('keeps serving the previous build when rebuildRoutes throws, emits error, and retries', async () => {
    const { control, builds, reloader, errors } = await started();
    builds.plan.set(1, 'throw');
    await control.commit();
    await reloader.check(); // resolves: the request keeps the old routes
    expect(reloader.version).toBe(0);
    expect(builds.current).toEqual({ version: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.phase).toBe('rebuild');
    expect(errors[0]?.error).toBeInstanceOf(ApphookRebuildError);
    expect((errors[0]!.error as Error).message).toMatch(/version 1 failed; still serving version 0/);
    builds.plan.delete(1);
    await vi.advanceTimersByTimeAsync(1200); // first retry within base ±20%
    expect(reloader.version).toBe(1);
    expect(reloader.stats()).toMatchObject({ failures: 1, reloads: 2 });
    await reloader.stop();
  });

  it('backs off exponentially with jitter while builds keep failing', async () => {
    const { control, builds, reloader } = await started();
    builds.failAll = true;
    await control.commit();
    await reloader.check();
    const at: number[] = [];
    const t0 = Date.now();
    let seen = builds.calls.length;
    for (let i = 0; i < 200; i++) {
      await vi.advanceTimersByTimeAsync(100);
      if (builds.calls.length > seen) {
        seen = builds.calls.length;
        at.push(Date.now() - t0);
      }
    }
    const gaps = at.map((t, i) => t - (at[i - 1] ?? 0));
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    // ~1 s, ~2 s, ~4 s, then capped at ~8 s (each ±20%, rounded to the 100 ms step)
    expect(gaps[0]).toBeGreaterThanOrEqual(800);
    expect(gaps[0]).toBeLessThanOrEqual(1300);
    expect(gaps[1]).toBeGreaterThanOrEqual(1600);
    expect(gaps[2]).toBeGreaterThanOrEqual(3200);
    for (const gap of gaps.slice(3)) expect(gap).toBeLessThanOrEqual(9700);
    expect(reloader.version).toBe(0);
    await reloader.stop();
  });

  it('times out a rebuild that hangs, aborts its signal, and ignores its late result', async () => {
    const { control, builds, reloader, errors } = await started({ rebuildTimeoutMs: 500 });
    builds.gate = deferred();
    await control.commit();
    void reloader.check();
    await vi.advanceTimersByTimeAsync(600);
    expect(errors.map((e) => (e.error as { code: string }).code)).toEqual(['E_TIMEOUT']);
    expect(builds.calls.at(-1)?.signal.aborted).toBe(true);
    builds.gate.resolve();
    builds.gate = undefined;
    await vi.advanceTimersByTimeAsync(0);
    expect(reloader.version).toBe(0);
    await vi.advanceTimersByTimeAsync(1500);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });

  it('never lets a failing rebuild become an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { control, builds, reloader } = await started();
      builds.failAll = true;
      for (let i = 0; i < 5; i++) {
        await control.commit();
        await reloader.check();
        await vi.advanceTimersByTimeAsync(10_000);
      }
      await reloader.stop();
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('backoffDelay doubles from base to max with ±20% jitter', () => {
    expect(backoffDelay(1, 500, 30_000, () => 0.5)).toBe(500);
    expect(backoffDelay(2, 500, 30_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(10, 500, 30_000, () => 0.5)).toBe(30_000);
    expect(backoffDelay(1, 500, 30_000, () => 0)).toBe(400);
    expect(backoffDelay(1, 500, 30_000, () => 1)).toBe(600);
  });
});
