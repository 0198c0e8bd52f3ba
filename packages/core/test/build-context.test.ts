import { AsyncLocalStorage } from 'node:async_hooks';
import { callbackBinding, createReloader, type MemoryTransaction, memoryStore } from '@apphook/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => vi.useRealTimers());

describe('builds run in a neutral async context (issue 13 item 9)', () => {
  it("a build never sees the request's or the committed transaction's AsyncLocalStorage", async () => {
    const requestContext = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const store = memoryStore({ logger: false });
    const binding = callbackBinding({
      rebuildRoutes: ({ version }) => {
        seen.push(requestContext.getStore());
        return { version };
      },
    });
    const reloader = createReloader({ store, binding, mode: 'request', logger: false });
    await requestContext.run('startup', () => reloader.start());
    await store.transaction((tx) => store.bump(tx, 'default'));
    // A request-mode check inside a request's context kicks the build.
    await requestContext.run('request 1', () => reloader.check());
    // A writer's after-commit hook, inside its transaction's context, kicks the next one.
    await requestContext.run('transaction', () => store.transaction((tx) => reloader.markChanged(tx)));
    expect(reloader.version).toBe(2);
    expect(seen).toEqual([undefined, undefined, undefined]);
    await reloader.stop();
  });
});

describe('exact builds from one read snapshot (G4, issue 13 item 10)', () => {
  it('a build labelled v reads the rows of v even when a commit lands between the version read and the rows read', async () => {
    vi.useFakeTimers();
    const store = memoryStore({ logger: false });
    const builds: Array<{ label: number; rows: number }> = [];
    const binding = callbackBinding({
      rebuildRoutes: async ({ version, scope, em }) => {
        await new Promise((resolve) => setTimeout(resolve, 100)); // the query comes late
        const rows = (em as MemoryTransaction).version(scope); // "the rows", read through the snapshot
        builds.push({ label: version, rows });
        return { version, rows };
      },
    });
    const reloader = createReloader({ store, binding, mode: 'push', minRebuildIntervalMs: 0, logger: false });
    const starting = reloader.start();
    await vi.advanceTimersByTimeAsync(100);
    await starting;
    const first = store.transaction((tx) => reloader.markChanged(tx)); // v1: the local build starts
    await vi.advanceTimersByTimeAsync(30);
    await store.transaction((tx) => store.bump(tx, 'default')); // v2 commits 30 ms later, mid-build
    await vi.advanceTimersByTimeAsync(400);
    await first;
    expect(builds.length).toBeGreaterThanOrEqual(2);
    for (const build of builds) expect(build.rows).toBe(build.label);
    expect(reloader.version).toBe(2);
    expect(binding.current).toEqual({ version: 2, rows: 2 });
    await reloader.stop();
  });

  it("the build's label is the snapshot's version, which can be newer than the version that triggered it", async () => {
    const store = memoryStore({ logger: false });
    const binding = callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) });
    const reloader = createReloader({ store, binding, mode: 'interval', logger: false });
    await store.transaction((tx) => store.bump(tx, 'default'));
    const read = store.read;
    // The version read says 1; by the time the snapshot opens, 2 has committed.
    store.read = async (scope) => {
      const version = await read(scope);
      await store.transaction((tx) => store.bump(tx, scope));
      return version;
    };
    await reloader.start();
    expect(reloader.version).toBe(2);
    expect(binding.current).toEqual({ version: 2 });
    await reloader.stop();
  });
});
