import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { announce, memoryFleetBackend } from '@apphook/fleet';
import { afterEach, describe, expect, it, vi } from 'vitest';

describe('the cost of announcing', () => {
  afterEach(() => vi.useRealTimers());

  it('one process writes 1 + 60000/heartbeatMs + builds entries per minute (measured: 12 with the defaults and 5 builds)', async () => {
    vi.useFakeTimers();
    const backend = memoryFleetBackend();
    const store = memoryStore({ logger: false });
    const reloader = createReloader({
      store,
      scope: 'cost',
      mode: 'interval',
      intervalMs: 3_600_000,
      safetyIntervalMs: 3_600_000,
      logger: false,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => version }),
    });
    await reloader.start();
    const announcer = announce(reloader, { backend }); // default heartbeat: 10 s
    await announcer.ready();
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(7_000);
      await store.transaction((tx) => reloader.markChanged(tx));
    }
    await vi.advanceTimersByTimeAsync(60_000 - 35_000);
    const perMinute = backend.writes;
    console.log(`[fleet cost] writes in one minute, heartbeat 10 s, 5 builds: ${perMinute}`);
    expect(perMinute).toBe(1 + 6 + 5);
    await announcer.stop();
    await reloader.stop();
  });
});
