import { type ApphookError, createReloader, type HintListener, memoryNotifier } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllableStore, deferred, recordingBinding } from './helpers.js';

/** Issue 13 item 1: stop() at any moment of start() leaves nothing open and start() says it was stopped. */
describe('stop() during start() (G12)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('while a channel is subscribing: the late subscription is closed and start() rejects with E_STOPPED', async () => {
    const { store, control } = controllableStore({ push: true });
    const gate = deferred();
    const subscribe = store.subscribe!;
    store.subscribe = async (scope: string, listener: HintListener) => {
      await gate.promise;
      return subscribe(scope, listener);
    };
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({ store, binding, logger: false });
    const starting = reloader.start().catch((e: unknown) => e as ApphookError);
    await vi.advanceTimersByTimeAsync(0);
    await reloader.stop();
    gate.resolve();
    const error = await starting;
    await vi.advanceTimersByTimeAsync(0);
    expect(error).toMatchObject({ code: 'E_STOPPED' });
    expect(control.listeners.size).toBe(0);
    expect(builds.calls).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('while the version is read: no build runs, nothing stays subscribed, start() rejects with E_STOPPED', async () => {
    const { store, control } = controllableStore({ push: true });
    const notifier = memoryNotifier();
    control.gate = deferred();
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({ store, binding, notifier, logger: false });
    const starting = reloader.start().catch((e: unknown) => e as ApphookError);
    await vi.advanceTimersByTimeAsync(0);
    expect(control.listeners.size).toBe(1);
    await reloader.stop();
    control.gate.resolve();
    const error = await starting;
    await vi.advanceTimersByTimeAsync(0);
    expect(error).toMatchObject({ code: 'E_STOPPED' });
    expect(builds.calls).toEqual([]);
    expect(control.listeners.size).toBe(0);
    expect(notifier.subscriberCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('while the first build runs: it is aborted and start() rejects with E_STOPPED, not E_REBUILD', async () => {
    const { store } = controllableStore({ push: true });
    const { binding, control: builds } = recordingBinding();
    builds.gate = deferred();
    const reloader = createReloader({ store, binding, logger: false });
    const starting = reloader.start().catch((e: unknown) => e as ApphookError);
    await vi.advanceTimersByTimeAsync(0);
    expect(builds.calls).toHaveLength(1);
    await reloader.stop();
    expect(builds.calls[0]?.signal.aborted).toBe(true);
    builds.gate.resolve();
    const error = await starting;
    expect(error).toMatchObject({ code: 'E_STOPPED' });
    expect((error as Error).message).toMatch(/stop\(\) was called while start\(\)/);
    expect(reloader.version).toBeUndefined();
    expect(builds.swaps).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('start() after stop() is an E_STATE error', async () => {
    const { store } = controllableStore();
    const reloader = createReloader({
      store,
      binding: recordingBinding().binding,
      mode: 'interval',
      logger: false,
    });
    await reloader.stop();
    await expect(reloader.start()).rejects.toMatchObject({ code: 'E_STATE' });
  });
});
