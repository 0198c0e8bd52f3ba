import { createReloader, memoryNotifier } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllableStore, deferred, recordingBinding } from './helpers.js';

describe("mode 'push': hints, health and the safety poll", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  async function started() {
    const { store, control } = controllableStore({ push: true });
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode: 'push',
      intervalMs: 1000,
      safetyIntervalMs: 30_000,
      jitterMs: 0,
      // These tests are about what one hint costs; the hint throttle and storm spacing have tests of their own.
      minHintIntervalMs: 0,
      minRebuildIntervalMs: 0,
      logger: false,
    });
    await reloader.start();
    const listener = [...control.listeners][0]!;
    return { control, builds, reloader, listener };
  }

  it('a hint triggers a store read and the version comes from the store, never from the message (G10)', async () => {
    const { control, reloader, listener } = await started();
    const reads = control.reads;
    listener.hint('default');
    await vi.advanceTimersByTimeAsync(0);
    expect(control.reads).toBe(reads + 1);
    expect(reloader.version).toBe(0); // nothing committed: a hint alone changes nothing
    await control.commit();
    listener.hint('default');
    await vi.advanceTimersByTimeAsync(0);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });

  it('ignores hints for other scopes', async () => {
    const { control, listener, reloader } = await started();
    const reads = control.reads;
    listener.hint('other');
    await vi.advanceTimersByTimeAsync(0);
    expect(control.reads).toBe(reads);
    await reloader.stop();
  });

  it('10,000 hints cost at most two store reads (one in flight, one queued)', async () => {
    const { control, reloader, listener } = await started();
    control.gate = deferred();
    const reads = control.reads;
    for (let i = 0; i < 10_000; i++) listener.hint('default');
    await vi.advanceTimersByTimeAsync(0);
    control.gate.resolve();
    control.gate = undefined;
    await vi.advanceTimersByTimeAsync(0);
    expect(control.reads - reads).toBe(2);
    expect(control.maxInFlight).toBe(1);
    expect(reloader.stats().hints).toBe(10_000);
    await reloader.stop();
  });

  it('a flood of hints reads at most once per minHintIntervalMs, not back to back (G10)', async () => {
    const { store, control } = controllableStore({ push: true });
    const reloader = createReloader({
      store,
      binding: recordingBinding().binding,
      mode: 'push',
      minHintIntervalMs: 20,
      logger: false,
    });
    await reloader.start();
    const listener = [...control.listeners][0]!;
    const reads = control.reads;
    for (let ms = 0; ms < 1000; ms++) {
      listener.hint('default');
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(20);
    // one read per 20 ms window (leading and trailing), instead of one per hint
    expect(control.reads - reads).toBeLessThanOrEqual(52);
    expect(control.reads - reads).toBeGreaterThanOrEqual(45);
    await reloader.stop();
  });

  it('the first hint after a quiet spell reads at once, and the last hint of a flood is always read', async () => {
    const { store, control } = controllableStore({ push: true });
    const reloader = createReloader({
      store,
      binding: recordingBinding().binding,
      minHintIntervalMs: 20,
      logger: false,
    });
    await reloader.start();
    const listener = [...control.listeners][0]!;
    await vi.advanceTimersByTimeAsync(1000);
    await control.commit();
    listener.hint('default');
    await vi.advanceTimersByTimeAsync(0);
    expect(reloader.version).toBe(1);
    await control.commit();
    listener.hint('default'); // within the window of the last read: read at its end
    await vi.advanceTimersByTimeAsync(0);
    expect(reloader.version).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(reloader.version).toBe(2);
    await reloader.stop();
  });

  it('polls only every safetyIntervalMs while healthy (idle cost)', async () => {
    const { control, reloader } = await started();
    const reads = control.reads;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(control.reads - reads).toBe(4);
    await reloader.stop();
  });

  it('recovers a lost push through the safety poll (G9)', async () => {
    const { control, reloader } = await started();
    await control.commit(); // no hint is sent: the push was lost
    await vi.advanceTimersByTimeAsync(29_000);
    expect(reloader.version).toBe(0);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });

  it('polls at intervalMs while a channel is down, and re-reads at once when it is back (G9)', async () => {
    const { control, reloader, listener } = await started();
    const errors: string[] = [];
    reloader.on('error', (e) => errors.push(e.phase));
    listener.down(new Error('connection lost'));
    listener.down(new Error('still lost')); // reported once
    expect(errors).toEqual(['channel']);
    expect(reloader.stats().channelsHealthy).toBe(false);
    await control.commit();
    await vi.advanceTimersByTimeAsync(1001);
    expect(reloader.version).toBe(1);
    const reads = control.reads;
    await vi.advanceTimersByTimeAsync(5000);
    expect(control.reads - reads).toBe(5);
    await control.commit();
    listener.resync();
    await vi.advanceTimersByTimeAsync(0);
    expect(reloader.version).toBe(2);
    expect(reloader.stats().channelsHealthy).toBe(true);
    const afterResync = control.reads;
    await vi.advanceTimersByTimeAsync(29_000);
    expect(control.reads).toBe(afterResync);
    await reloader.stop();
  });

  it('subscribes before the first read, so a commit between the two is not missed', async () => {
    const { store, control } = controllableStore({ push: true });
    const order: string[] = [];
    const subscribe = store.subscribe!;
    store.subscribe = async (scope, listener) => {
      order.push('subscribe');
      return subscribe(scope, listener);
    };
    const read = store.read;
    store.read = async (scope) => {
      order.push('read');
      return read(scope);
    };
    const reloader = createReloader({ store, binding: recordingBinding().binding, logger: false });
    await reloader.start();
    expect(order).toEqual(['subscribe', 'read']);
    expect(control.listeners.size).toBe(1);
    await reloader.stop();
  });

  it('uses the notifier as a channel: a publish in one reloader reaches another', async () => {
    vi.useRealTimers();
    const { store } = controllableStore();
    const notifier = memoryNotifier();
    const a = createReloader({ store, binding: recordingBinding().binding, notifier, logger: false });
    const b = createReloader({ store, binding: recordingBinding().binding, notifier, logger: false });
    await a.start();
    await b.start();
    await store.transaction((tx) => a.markChanged(tx));
    expect(a.version).toBe(1);
    await vi.waitFor(() => expect(b.version).toBe(1), { timeout: 1000, interval: 5 });
    await a.stop();
    await b.stop();
  });
});
