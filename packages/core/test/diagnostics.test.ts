import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  type BuildDiagnostic,
  callbackBinding,
  createReloader,
  DIAGNOSTICS_CHANNELS,
  memoryNotifier,
  memoryStore,
} from '@apphook/core';
import { afterEach, describe, expect, it } from 'vitest';

describe('diagnostics_channel events and build stats', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  function listen(name: string): unknown[] {
    const seen: unknown[] = [];
    const fn = (message: unknown) => seen.push(message);
    subscribe(name, fn);
    cleanups.push(() => unsubscribe(name, fn));
    return seen;
  }

  it('publishes build start and end (with duration and error), hints and errors, and keeps the last build time and error in stats()', async () => {
    const starts = listen(DIAGNOSTICS_CHANNELS.buildStart) as BuildDiagnostic[];
    const ends = listen(DIAGNOSTICS_CHANNELS.buildEnd) as BuildDiagnostic[];
    const hints = listen(DIAGNOSTICS_CHANNELS.hint);
    const errors = listen(DIAGNOSTICS_CHANNELS.error);
    const store = memoryStore({ logger: false });
    const notifier = memoryNotifier();
    let fail = false;
    const reloader = createReloader({
      store,
      notifier,
      scope: 'diag-scope',
      binding: callbackBinding({
        rebuildRoutes: ({ version }) => {
          if (fail) throw new Error(`boom ${version}`);
          return version;
        },
      }),
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
      logger: false,
    });
    await reloader.start();
    expect(starts).toEqual([expect.objectContaining({ scope: 'diag-scope', version: 0 })]);
    expect(ends[0]).toMatchObject({ scope: 'diag-scope', version: 0 });
    expect(ends[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(ends[0]!.error).toBeUndefined();
    expect(reloader.stats().lastBuildMs).toBeGreaterThanOrEqual(0);
    expect(reloader.stats().lastError).toBeUndefined();

    fail = true;
    await store.transaction((tx) => reloader.markChanged(tx));
    expect(ends).toHaveLength(2);
    expect(ends[1]).toMatchObject({ version: 1, error: expect.any(Error) });
    expect(errors).toEqual([expect.objectContaining({ scope: 'diag-scope', phase: 'rebuild' })]);
    expect(reloader.stats().lastError).toMatchObject({ phase: 'rebuild', code: 'E_REBUILD' });
    expect(reloader.stats().lastError?.message).toMatch(/version 1 failed/);
    await notifier.publish('diag-scope', 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(hints).toContainEqual({ scope: 'diag-scope' });
    await reloader.stop();
  });
});
