import { createReloader, type TokenStore } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { controllableStore, deferred, recordingBinding } from './helpers.js';

/** Issue 13 item 4: a backoff only delays a retry of the version that failed, never a newer one. */
describe('after a failed rebuild, a newer version builds at once', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  async function started(mode: 'interval' | 'request' = 'interval') {
    const { store, control } = controllableStore();
    const { binding, control: builds } = recordingBinding();
    const reloader = createReloader({
      store,
      binding,
      mode,
      intervalMs: 60_000,
      safetyIntervalMs: 60_000,
      retryBaseMs: 5000,
      retryMaxMs: 5000,
      logger: false,
    });
    await reloader.start();
    return { store, control, builds, reloader };
  }

  it("a writer's commit made during a failing build resolves after one more build, not after the backoff", async () => {
    const { store, control, builds, reloader } = await started();
    const hold = deferred();
    builds.gate = hold;
    builds.plan.set(1, 'throw');
    await control.commit(); // v1, by another process
    void reloader.check(); // build of v1 starts and is held
    await vi.advanceTimersByTimeAsync(0);
    let committed = false;
    const writer = store
      .transaction((tx) => reloader.markChanged(tx))
      .then(() => {
        committed = true;
      }); // v2, waits for this process to serve it
    await vi.advanceTimersByTimeAsync(0);
    builds.gate = undefined;
    hold.resolve(); // build 1 fails: backoff of 5 s
    await vi.advanceTimersByTimeAsync(200);
    expect(committed).toBe(true);
    expect(reloader.version).toBe(2);
    await writer;
    await reloader.stop();
  });

  it('a request-mode check for a newer version is served after one build, not after the backoff', async () => {
    const { control, builds, reloader } = await started('request');
    builds.plan.set(1, 'throw');
    await control.commit();
    await reloader.check(); // build 1 fails; the request keeps version 0
    expect(reloader.version).toBe(0);
    await control.commit(); // v2 fixes the bad row
    let served = false;
    const check = reloader.check().then(() => {
      served = true;
    });
    await vi.advanceTimersByTimeAsync(200);
    expect(served).toBe(true);
    expect(reloader.version).toBe(2);
    await check;
    await reloader.stop();
  });

  it('a retry of the same failing version still waits out the backoff', async () => {
    const { control, builds, reloader } = await started();
    builds.plan.set(1, 'throw');
    await control.commit();
    await reloader.check();
    const attempts = builds.calls.length;
    await reloader.check(); // nothing newer: answers at once, no new build
    await vi.advanceTimersByTimeAsync(3000);
    expect(builds.calls.length).toBe(attempts);
    builds.plan.delete(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });
});

describe('a custom store that throws synchronously', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a read() that throws instead of rejecting is reported from the poll timer, never crashes', async () => {
    let throwNow = false;
    const store: TokenStore<unknown> = {
      name: 'throwing store',
      read: (() => {
        if (throwNow) throw new Error('driver bug');
        return Promise.resolve(0);
      }) as TokenStore['read'],
      bump: async () => 1,
    };
    const reloader = createReloader({
      store,
      binding: recordingBinding().binding,
      mode: 'interval',
      intervalMs: 100,
      jitterMs: 0,
      logger: false,
    });
    const errors: string[] = [];
    reloader.on('error', (e) => errors.push(`${e.phase}: ${e.error.message}`));
    await reloader.start();
    throwNow = true;
    await vi.advanceTimersByTimeAsync(350);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors[0]).toMatch(/^read: .*driver bug/);
    throwNow = false;
    await vi.advanceTimersByTimeAsync(100);
    await reloader.stop();
  });
});
