import { callbackBinding, createReloader, memoryNotifier, memoryStore } from '@apphook/core';
import { describe, expect, it } from 'vitest';

describe('smoke', () => {
  it('serves the new version in the writing process when the transaction resolves', async () => {
    const store = memoryStore();
    let builds = 0;
    const binding = callbackBinding({ rebuildRoutes: ({ version }) => ({ version, n: ++builds }) });
    const reloader = createReloader({ store, binding, notifier: memoryNotifier(), logger: false });
    await reloader.start();
    expect(reloader.version).toBe(0);
    await store.transaction(async (tx) => {
      await reloader.markChanged(tx);
      await reloader.markChanged(tx);
    });
    expect(reloader.version).toBe(2);
    expect(binding.current).toEqual({ version: 2, n: 2 });
    await reloader.stop();
  });
});
