import {
  type Binding,
  callbackBinding,
  createReloader,
  type HintListener,
  type MemoryTransaction,
  memoryStore,
  type RebuildContext,
  type ReloaderOptions,
  type Subscription,
  type TokenStore,
} from '@apphook/core';

import { expect, vi } from 'vitest';
import { BuildScheduler } from '../src/build-scheduler.js';
import type { PacingOptions } from '../src/rebuild-pacing.js';

/**
 * A build scheduler alone, for the storm-pacing tests: a read answers `version()`, a build runs `build` and is
 * labelled with its target (a store without snapshots).
 */
export function pacedScheduler(options: {
  pacing: PacingOptions;
  version: () => number;
  build: (target: number) => Promise<void> | void;
}): BuildScheduler {
  const scheduler: BuildScheduler = new BuildScheduler({
    build: async (target) => {
      await options.build(target);
      return { label: target, swap() {} };
    },
    failed() {},
    read: () => scheduler.raise(options.version()),
    snapshotBuilds: false,
    pacing: options.pacing,
    retryBaseMs: 500,
    retryMaxMs: 30_000,
  });
  return scheduler;
}

/**
 * One process of the fake-timer storm tests: a paced scheduler whose builds take `buildMs` and record when they
 * started; `hear(version)` is a push hint announcing a commit, as the reloader passes it on.
 */
export function stormWorker(pacing: PacingOptions, buildMs: number) {
  let committed = 0;
  const starts: number[] = [];
  const scheduler = pacedScheduler({
    pacing,
    version: () => committed,
    build: async () => {
      starts.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, buildMs));
    },
  });
  return {
    scheduler,
    starts,
    hear(version: number) {
      committed = version;
      scheduler.hinted();
      scheduler.raise(version);
    },
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A memory store whose reads can be counted, held and failed, and whose native push can be driven by hand:
 * the "controllable store" the core unit tests need.
 */
export function controllableStore(options: { push?: boolean } = {}) {
  const inner = memoryStore({ push: false, logger: false });
  const listeners = new Set<HintListener>();
  const control = {
    reads: 0,
    inFlight: 0,
    maxInFlight: 0,
    /** When set, every read waits for it. */
    gate: undefined as Deferred<void> | undefined,
    /** Reads fail while this is > 0 (decremented per failure). */
    failReads: 0,
    listeners,
    /** Commits a bump outside any reloader. */
    async commit(scope = 'default'): Promise<number> {
      return inner.transaction((tx) => inner.bump(tx, scope));
    },
  };
  const store: TokenStore<MemoryTransaction> & { transaction: typeof inner.transaction } = {
    name: 'test store',
    async read(scope) {
      control.reads++;
      control.inFlight++;
      control.maxInFlight = Math.max(control.maxInFlight, control.inFlight);
      try {
        if (control.gate) await control.gate.promise;
        if (control.failReads > 0) {
          control.failReads--;
          throw new Error('read failed on purpose');
        }
        return await inner.read(scope);
      } finally {
        control.inFlight--;
      }
    },
    bump: (tx, scope) => inner.bump(tx, scope),
    afterCommit: (tx, hook, hookOptions) => inner.afterCommit?.(tx, hook, hookOptions),
    transaction: (fn) => inner.transaction(fn),
  };
  if (options.push) {
    store.subscribe = async (_scope: string, listener: HintListener): Promise<Subscription> => {
      listeners.add(listener);
      return {
        async close() {
          listeners.delete(listener);
        },
      };
    };
  }
  return { store, control };
}

/** A binding whose builds are recorded and can be held, failed or slowed per version. */
export function recordingBinding() {
  const calls: RebuildContext[] = [];
  const swaps: number[] = [];
  const control = {
    calls,
    swaps,
    inFlight: 0,
    maxInFlight: 0,
    /** version -> what the build does */
    plan: new Map<number, 'throw' | Deferred<void>>(),
    /** Builds for every version wait for this when set. */
    gate: undefined as Deferred<void> | undefined,
    failAll: false,
    current: undefined as { version: number } | undefined,
  };
  const binding: Binding<{ version: number }> = {
    async rebuild(context) {
      calls.push(context);
      control.inFlight++;
      control.maxInFlight = Math.max(control.maxInFlight, control.inFlight);
      try {
        const step = control.plan.get(context.version);
        if (control.gate) await control.gate.promise;
        if (step === 'throw' || control.failAll)
          throw new Error(`build ${context.version} failed on purpose`);
        if (step) await step.promise;
        return { version: context.version };
      } finally {
        control.inFlight--;
      }
    },
    swap(routes, info) {
      swaps.push(info.version);
      control.current = routes;
    },
  };
  return { binding, control };
}

/** Lets queued microtasks and promise chains settle without advancing fake time. */
export async function flush(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}

/** Another process commits every `everyMs` for `forMs` (fake timers); a reloader on `store` hears each as a hint. */
export async function commitStorm(store: ReturnType<typeof memoryStore>, everyMs: number, forMs: number) {
  let last = 0;
  for (let t = 0; t < forMs; t += everyMs) {
    last = await store.bump(undefined, 'default');
    await vi.advanceTimersByTimeAsync(everyMs);
  }
  return last;
}

/**
 * `count` commits of this process's own (fake timers), one after the other: each must resolve after exactly one
 * build of `buildMs`, never held back by storm pacing (S5).
 */
export async function expectOwnCommitsAtOnce(
  store: ReturnType<typeof memoryStore>,
  reloader: { markChanged(tx: MemoryTransaction): Promise<number> },
  count: number,
  buildMs: number,
) {
  for (let i = 1; i <= count; i++) {
    const at = Date.now();
    const commit = store.transaction((tx) => reloader.markChanged(tx));
    await vi.advanceTimersByTimeAsync(buildMs);
    await expect(commit).resolves.toBe(i);
    expect(Date.now() - at).toBe(buildMs);
  }
}

/**
 * A started push reloader on a memory store whose every build takes `buildMs` (fake timers), with the builds
 * after the first recorded: when each started and when it ended (`at`).
 */
export async function slowBuildReloader(
  options: Partial<ReloaderOptions<unknown, MemoryTransaction>>,
  buildMs: number,
) {
  const store = memoryStore({ logger: false });
  const built: Array<{ version: number; startedAt: number; at: number }> = [];
  const binding = callbackBinding({
    rebuildRoutes: async ({ version }) => {
      const startedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, buildMs));
      built.push({ version, startedAt, at: Date.now() });
      return { version };
    },
  });
  const reloader = createReloader({ store, binding, mode: 'push', logger: false, ...options });
  const starting = reloader.start();
  await vi.advanceTimersByTimeAsync(buildMs);
  await starting;
  built.length = 0;
  return { store, reloader, built };
}
