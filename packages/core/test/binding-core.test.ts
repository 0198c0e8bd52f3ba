import { callbackBinding, createBindingCore, createReloader, memoryStore } from '@apphook/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

describe('binding core', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('acquire() is synchronous once built in push and interval modes (G7)', async () => {
    const core = createBindingCore({ name: 'test', rebuildRoutes: ({ version }) => ({ version }) });
    const reloader = createReloader({
      store: memoryStore(),
      binding: core.binding,
      mode: 'interval',
      logger: false,
    });
    await reloader.start();
    const got = core.acquire(1000);
    expect(got).toEqual({ version: 0 });
    expect(got).not.toBeInstanceOf(Promise);
    await reloader.stop();
  });

  it('before the first build, acquire() waits up to waitMs then gives undefined (the binding answers 503)', async () => {
    const core = createBindingCore({ name: 'test', rebuildRoutes: ({ version }) => ({ version }) });
    createReloader({ store: memoryStore(), binding: core.binding, mode: 'interval', logger: false });
    const pending = core.acquire(2000) as Promise<unknown>;
    await vi.advanceTimersByTimeAsync(1999);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toBeUndefined();
  });

  it('a request waiting for the first build gets the routes as soon as they swap in', async () => {
    const core = createBindingCore({ name: 'test', rebuildRoutes: ({ version }) => ({ version }) });
    const reloader = createReloader({
      store: memoryStore(),
      binding: core.binding,
      mode: 'interval',
      logger: false,
    });
    const pending = core.acquire(5000);
    await reloader.start();
    await expect(pending).resolves.toEqual({ version: 0 });
    await reloader.stop();
  });

  it('a rebuild that returns nothing is a failed build with a clear message', async () => {
    const core = createBindingCore({ name: 'apphook/test', rebuildRoutes: () => undefined });
    const reloader = createReloader({
      store: memoryStore(),
      binding: core.binding,
      mode: 'interval',
      logger: false,
    });
    await expect(reloader.start()).rejects.toThrow(
      /rebuildRoutes returned undefined for version 0; return the routes/,
    );
  });

  it('callbackBinding exposes the current build for processes that are not HTTP servers', async () => {
    const store = memoryStore();
    const binding = callbackBinding({ rebuildRoutes: ({ version }) => new Map([['/page', `v${version}`]]) });
    const reloader = createReloader({ store, binding, mode: 'interval', logger: false });
    await reloader.start();
    await store.transaction((tx) => reloader.markChanged(tx));
    expect(binding.current?.get('/page')).toBe('v1');
    expect(binding.version).toBe(1);
    expect(reloader.current).toBe(binding.current);
    await reloader.stop();
  });
});
