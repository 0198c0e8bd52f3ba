import { createReloader } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllableStore, deferred, recordingBinding } from './helpers.js';

describe('rebuilds: single flight, one more, never older, coalescing', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  async function started() {
    const { store, control } = controllableStore();
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode: 'interval',
      intervalMs: 1000,
      jitterMs: 0,
      logger: false,
    });
    await reloader.start();
    return { store, control, builds, reloader };
  }

  it('runs one rebuild at a time, and a version that arrives during it triggers exactly one more', async () => {
    const { control, builds, reloader } = await started();
    const first = deferred();
    builds.plan.set(1, first);
    await control.commit(); // v1
    void reloader.check(); // starts build 1, which hangs
    await vi.advanceTimersByTimeAsync(0);
    expect(builds.inFlight).toBe(1);
    await control.commit(); // v2
    await control.commit(); // v3
    void reloader.check();
    void reloader.check();
    await vi.advanceTimersByTimeAsync(0);
    expect(builds.inFlight).toBe(1);
    first.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(builds.calls.map((c) => c.version)).toEqual([0, 1, 3]);
    expect(builds.maxInFlight).toBe(1);
    expect(reloader.version).toBe(3);
    await reloader.stop();
  });

  it('never swaps in a build older than the one it serves (G3)', async () => {
    const { control, builds, reloader } = await started();
    await control.commit();
    await control.commit();
    await reloader.check();
    expect(reloader.version).toBe(2);
    // A later read that returns an older version (a lagging replica, a reordered hint) changes nothing.
    const swapsBefore = builds.swaps.length;
    (reloader as unknown as { scheduler: { raise(v: number): void } }).scheduler.raise(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(builds.swaps.length).toBe(swapsBefore);
    expect(reloader.version).toBe(2);
    expect(builds.swaps).toEqual([...builds.swaps].sort((a, b) => a - b));
    await reloader.stop();
  });

  it('coalesces a burst of 100 commits into at most a few rebuilds that end on the last version (G8)', async () => {
    const { control, builds, reloader } = await started();
    const slow = deferred();
    builds.plan.set(1, slow);
    await control.commit();
    void reloader.check();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 99; i++) {
      await control.commit();
      void reloader.check();
    }
    slow.resolve();
    await vi.advanceTimersByTimeAsync(0);
    await reloader.check();
    expect(reloader.version).toBe(100);
    // initial build, the slow one, then exactly one for everything that arrived meanwhile
    expect(builds.calls.map((c) => c.version)).toEqual([0, 1, 100]);
    await reloader.stop();
  });

  it('passes version, scope, previous and an AbortSignal to rebuildRoutes', async () => {
    const { control, builds, reloader } = await started();
    await control.commit();
    await reloader.check();
    const call = builds.calls.at(-1);
    expect(call).toMatchObject({ version: 1, scope: 'default', previous: 0 });
    expect(call?.signal).toBeInstanceOf(AbortSignal);
    await reloader.stop();
  });

  it('emits reload events with from, to and duration', async () => {
    const { control, reloader } = await started();
    const events: unknown[] = [];
    reloader.on('reload', (e) => events.push(e));
    await control.commit();
    await reloader.check();
    expect(events).toEqual([{ scope: 'default', from: 0, to: 1, durationMs: expect.any(Number) }]);
    await reloader.stop();
  });

  it('a listener that throws does not break the reloader', async () => {
    const { control, reloader } = await started();
    reloader.on('reload', () => {
      throw new Error('listener bug');
    });
    await control.commit();
    await reloader.check();
    await control.commit();
    await reloader.check();
    expect(reloader.version).toBe(2);
    await reloader.stop();
  });
});

describe('polling', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("mode 'interval' reads every intervalMs (+ jitter) and converges without any call (G3)", async () => {
    const { store, control } = controllableStore();
    const { binding } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode: 'interval',
      intervalMs: 1000,
      jitterMs: 200,
      logger: false,
    });
    await reloader.start();
    await control.commit();
    await vi.advanceTimersByTimeAsync(999);
    expect(reloader.version).toBe(0);
    expect(control.reads).toBe(1);
    await vi.advanceTimersByTimeAsync(201);
    expect(control.reads).toBe(2);
    expect(reloader.version).toBe(1);
    await vi.advanceTimersByTimeAsync(12_000);
    expect(control.reads).toBeGreaterThanOrEqual(11);
    expect(control.reads).toBeLessThanOrEqual(14);
    await reloader.stop();
  });

  it('a failed read is reported and polling goes on', async () => {
    const { store, control } = controllableStore();
    const { binding } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode: 'interval',
      intervalMs: 100,
      jitterMs: 0,
      logger: false,
    });
    const errors: string[] = [];
    reloader.on('error', (e) => errors.push(`${e.phase}:${e.error.code}`));
    await reloader.start();
    control.failReads = 3;
    await control.commit();
    await vi.advanceTimersByTimeAsync(350);
    expect(errors).toEqual(['read:E_CONNECTION', 'read:E_CONNECTION', 'read:E_CONNECTION']);
    await vi.advanceTimersByTimeAsync(100);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });

  it('a read that hangs times out after readTimeoutMs instead of stalling every later check', async () => {
    const { store, control } = controllableStore();
    const { binding } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode: 'interval',
      intervalMs: 100,
      jitterMs: 0,
      readTimeoutMs: 500,
      logger: false,
    });
    const errors: string[] = [];
    reloader.on('error', (e) => errors.push(e.error.code));
    await reloader.start();
    control.gate = deferred();
    await vi.advanceTimersByTimeAsync(700);
    expect(errors).toContain('E_TIMEOUT');
    control.gate.resolve();
    control.gate = undefined;
    await control.commit();
    await vi.advanceTimersByTimeAsync(300);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });
});
