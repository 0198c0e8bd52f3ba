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

describe('binding core: requests before the first build say why they wait (issue 12 item 5)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function capture() {
    const warnings: string[] = [];
    return {
      warnings,
      logger: { warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m) },
    };
  }

  it('logs once that reloader.start() was never called, when requests time out waiting', async () => {
    const { warnings, logger } = capture();
    const core = createBindingCore({ name: 'apphook/test', rebuildRoutes: ({ version }) => ({ version }) });
    createReloader({
      store: memoryStore(),
      binding: core.binding,
      mode: 'interval',
      scope: 'site:1',
      logger,
    });
    const first = core.acquire(100) as Promise<unknown>;
    const second = core.acquire(100) as Promise<unknown>;
    await vi.advanceTimersByTimeAsync(100);
    await expect(first).resolves.toBeUndefined();
    await expect(second).resolves.toBeUndefined();
    await expect(core.acquire(0)).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/scope 'site:1'.*reloader\.start\(\) was never called/);
  });

  it('logs nothing while start() is running a slow first build', async () => {
    const { warnings, logger } = capture();
    const core = createBindingCore({
      name: 'apphook/test',
      rebuildRoutes: async ({ version }) => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return { version };
      },
    });
    const reloader = createReloader({
      store: memoryStore(),
      binding: core.binding,
      mode: 'interval',
      logger,
    });
    const starting = reloader.start();
    const early = core.acquire(100) as Promise<unknown>;
    await vi.advanceTimersByTimeAsync(500);
    await starting;
    await expect(early).resolves.toBeUndefined();
    expect(warnings).toEqual([]);
    await reloader.stop();
  });

  it('logs once that no reloader serves the binding when a request arrives before createReloader', async () => {
    const { warnings, logger } = capture();
    const core = createBindingCore({
      name: 'apphook/test',
      rebuildRoutes: ({ version }) => ({ version }),
      logger,
    });
    await expect(core.acquire(0)).resolves.toBeUndefined();
    await expect(core.acquire(0)).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/\[apphook\/test\].*createReloader\(\{ binding/);
  });
});
