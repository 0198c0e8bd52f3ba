import { type ApphookError, ApphookRebuildError, createReloader, memoryNotifier } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllableStore, deferred, recordingBinding } from './helpers.js';

describe('reloader lifecycle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('start() reads the token and builds exactly once', async () => {
    const { store, control } = controllableStore();
    await control.commit();
    await control.commit();
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({ store, binding, mode: 'interval', logger: false });
    await reloader.start();
    expect(control.reads).toBe(1);
    expect(builds.calls.map((c) => c.version)).toEqual([2]);
    expect(builds.calls[0]?.previous).toBeUndefined();
    expect(reloader.version).toBe(2);
    expect(reloader.current).toEqual({ version: 2 });
    await reloader.stop();
  });

  it('start() rejects with a clear error when the first build fails: there is nothing to fall back to', async () => {
    const { store } = controllableStore();
    const { binding, control } = recordingBinding();
    control.failAll = true;
    const reloader = createReloader({ store, binding, mode: 'interval', logger: false });
    const error = await reloader.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApphookRebuildError);
    expect((error as ApphookRebuildError).code).toBe('E_REBUILD');
    expect((error as Error).message).toMatch(
      /first build of scope 'default' \(version 0\) failed.*no earlier routes/,
    );
    expect(vi.getTimerCount()).toBe(0);
    // It can be started again once the cause is fixed.
    control.failAll = false;
    await reloader.start();
    expect(reloader.version).toBe(0);
    await reloader.stop();
  });

  it('start() rejects with E_CONNECTION when the store cannot be read', async () => {
    const { store, control } = controllableStore();
    control.failReads = 1;
    const { binding } = recordingBinding();
    const reloader = createReloader({ store, binding, mode: 'interval', logger: false });
    const error = (await reloader.start().catch((e: unknown) => e)) as ApphookError;
    expect(error.code).toBe('E_CONNECTION');
    expect(error.message).toMatch(/could not read the version of scope 'default'/);
  });

  it('start() twice is an E_STATE error', async () => {
    const { store } = controllableStore();
    const reloader = createReloader({
      store,
      binding: recordingBinding().binding,
      mode: 'interval',
      logger: false,
    });
    await reloader.start();
    await expect(reloader.start()).rejects.toMatchObject({ code: 'E_STATE' });
    await reloader.stop();
  });

  it('stop() clears every timer and subscription and leaves no handle open', async () => {
    const { store, control } = controllableStore({ push: true });
    const notifier = memoryNotifier();
    const reloader = createReloader({ store, binding: recordingBinding().binding, notifier, logger: false });
    await reloader.start();
    expect(control.listeners.size).toBe(1);
    expect(notifier.subscriberCount).toBe(1);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await reloader.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(control.listeners.size).toBe(0);
    expect(notifier.subscriberCount).toBe(0);
    // Nothing fires later either.
    const readsAtStop = control.reads;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(control.reads).toBe(readsAtStop);
    await reloader.stop(); // idempotent
  });

  it('stop() aborts an in-flight build through its signal and never swaps its result', async () => {
    const { store, control } = controllableStore();
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({ store, binding, mode: 'interval', intervalMs: 100, logger: false });
    await reloader.start();
    const hold = deferred();
    builds.gate = hold;
    await control.commit();
    await vi.advanceTimersByTimeAsync(200);
    expect(builds.calls.at(-1)?.version).toBe(1);
    const signal = builds.calls.at(-1)?.signal;
    await reloader.stop();
    expect(signal?.aborted).toBe(true);
    hold.resolve();
    await vi.advanceTimersByTimeAsync(10);
    expect(reloader.version).toBe(0);
    expect(builds.swaps).toEqual([0]);
  });

  it('markChanged() after stop() is an E_STATE error', async () => {
    const { store } = controllableStore();
    const reloader = createReloader({
      store,
      binding: recordingBinding().binding,
      mode: 'interval',
      logger: false,
    });
    await reloader.start();
    await reloader.stop();
    await expect(store.transaction((tx) => reloader.markChanged(tx))).rejects.toMatchObject({
      code: 'E_STATE',
    });
  });

  it('reports stats', async () => {
    const { store, control } = controllableStore();
    const reloader = createReloader({
      store,
      binding: recordingBinding().binding,
      mode: 'interval',
      logger: false,
    });
    await reloader.start();
    await control.commit();
    await reloader.check();
    const stats = reloader.stats();
    expect(stats).toMatchObject({
      scope: 'default',
      mode: 'interval',
      version: 1,
      latestSeen: 1,
      reads: 2,
      reloads: 2,
      failures: 0,
      checks: 1,
      channelsHealthy: true,
    });
    expect(stats.lastReloadAt).toBeTypeOf('number');
    await reloader.stop();
  });
});
