import { createReloader } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllableStore, deferred, recordingBinding } from './helpers.js';

describe("mode 'request' (G7)", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  async function started(minCheckIntervalMs = 0) {
    const { store, control } = controllableStore();
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({ store, binding, mode: 'request', minCheckIntervalMs, logger: false });
    await reloader.start();
    return { control, builds, reloader };
  }

  it('shares one store read among 1,000 concurrent checks: at most one read in flight', async () => {
    const { control, reloader } = await started();
    control.gate = deferred();
    const readsBefore = control.reads;
    const checks = Array.from({ length: 1000 }, () => reloader.check());
    await vi.advanceTimersByTimeAsync(0);
    expect(control.inFlight).toBe(1);
    control.gate.resolve();
    control.gate = undefined;
    await Promise.all(checks);
    // one read for the first caller, one queued read shared by the 999 that arrived during it
    expect(control.reads - readsBefore).toBe(2);
    expect(control.maxInFlight).toBe(1);
    await reloader.stop();
  });

  it('a check never joins a read that started before it (read-your-writes across processes)', async () => {
    const { control, reloader } = await started();
    control.gate = deferred();
    const early = reloader.check(); // read R1 starts, held
    await vi.advanceTimersByTimeAsync(0);
    await control.commit(); // another process commits v1 while R1 is in flight
    const late = reloader.check(); // must not be satisfied by R1
    control.gate.resolve();
    control.gate = undefined;
    await Promise.all([early, late]);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });

  it('a check waits for the rebuild of a newer version, so the request is routed by it', async () => {
    const { control, builds, reloader } = await started();
    const build = deferred();
    builds.plan.set(1, build);
    await control.commit();
    let done = false;
    const check = reloader.check().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    build.resolve();
    await check;
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });

  it('minCheckIntervalMs reuses a recent read instead of reading again', async () => {
    const { control, reloader } = await started(1000);
    const before = control.reads;
    await reloader.check();
    for (let i = 0; i < 50; i++) await reloader.check();
    expect(control.reads - before).toBe(1);
    await vi.advanceTimersByTimeAsync(1001);
    await reloader.check();
    expect(control.reads - before).toBe(2);
    await reloader.stop();
  });

  it('a check during a failed build resolves at once with the old routes (no 5xx, no hang)', async () => {
    const { control, builds, reloader } = await started();
    builds.failAll = true;
    await control.commit();
    await reloader.check();
    expect(reloader.version).toBe(0);
    // during the backoff a check answers from the old routes immediately
    await reloader.check();
    expect(reloader.version).toBe(0);
    await reloader.stop();
  });
});
