import {
  type ApphookError,
  callbackBinding,
  createReloader,
  type HintListener,
  type MemoryTransaction,
  memoryNotifier,
  memoryStore,
  type Reloader,
  type Subscription,
} from '@apphook/core';

/**
 * The world the model-based tests (model.test.ts) drive: one memory store with push and one memory notifier,
 * shared by reloader slots, each with its own binding; builds whose outcome and duration come from a plan;
 * subscriptions that take a while to open and are counted; every waiter (a writer's commit, a check) recorded.
 */

export const SCOPE = 'default';
export const REBUILD_TIMEOUT_MS = 150;
export const RETRY_BASE_MS = 2000;
export const MIN_REBUILD_INTERVAL_MS = 50;

export type BuildStep = { ok: boolean; ms: number };

export interface Waiter {
  what: string;
  slot: number;
  /** The reloader instance it waits on. */
  generation: number;
  version: number;
  createdAt: number;
  settled: boolean;
}

/** One reloader instance: a slot gets a new one after stop(). */
export interface Instance {
  slot: number;
  generation: number;
  open: number;
  stoppedAt?: number;
}

export interface Slot {
  index: number;
  mode: 'push' | 'request';
  generation: number;
  reloader: Reloader<{ version: number; rows: number }, MemoryTransaction | undefined>;
  /** Versions this slot's binding swapped in, in order. */
  swaps: Array<{ label: number; rows: number }>;
  startedAt?: number;
  state: 'fresh' | 'starting' | 'started' | 'failed' | 'stopping' | 'stopped';
  start?: { settled: boolean; error?: ApphookError; stopCalledBefore: boolean };
  stop?: { settled: boolean };
  instance: Instance;
}

export function createWorld(now: () => number) {
  const store = memoryStore({ logger: false });
  const notifier = memoryNotifier();
  const plan: BuildStep[] = [];
  const waiters: Waiter[] = [];
  const problems: string[] = [];
  const slots: Slot[] = [];
  const instances: Instance[] = [];

  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });

  /** Counts a slot's open subscriptions, and makes subscribing take a few ms (so stop() can land meanwhile). */
  function counted(instance: Instance, subscribe: (scope: string, l: HintListener) => Promise<Subscription>) {
    return async (scope: string, listener: HintListener): Promise<Subscription> => {
      await sleep(3);
      const inner = await subscribe(scope, listener);
      instance.open++;
      let open = true;
      return {
        async close() {
          if (open) instance.open--;
          open = false;
          await inner.close();
        },
      };
    };
  }

  function makeReloader(slot: Slot) {
    const instance: Instance = { slot: slot.index, generation: slot.generation, open: 0 };
    instances.push(instance);
    slot.instance = instance;
    const binding = callbackBinding({
      rebuildRoutes: async ({ version, scope, em, signal }) => {
        const step = plan.shift() ?? { ok: true, ms: 5 };
        await sleep(step.ms, signal);
        // The rows come from the snapshot: they must be those of the build's label (G4).
        const rows = (em as MemoryTransaction).version(scope);
        if (!step.ok) throw new Error(`planned failure of build ${version}`);
        return { version, rows };
      },
    });
    const original = binding.swap;
    binding.swap = (routes, info) => {
      slot.swaps.push({ label: info.version, rows: routes.rows });
      original(routes, info);
    };
    const slotStore = Object.create(store) as typeof store;
    slotStore.subscribe = counted(instance, store.subscribe!);
    const slotNotifier = { ...notifier, subscribe: counted(instance, notifier.subscribe) };
    return createReloader({
      store: slotStore,
      binding,
      notifier: slotNotifier,
      mode: slot.mode,
      intervalMs: 1000,
      safetyIntervalMs: 30_000,
      rebuildTimeoutMs: REBUILD_TIMEOUT_MS,
      retryBaseMs: RETRY_BASE_MS,
      retryMaxMs: RETRY_BASE_MS * 2,
      minRebuildIntervalMs: MIN_REBUILD_INTERVAL_MS,
      // The storm backoff runs too (S8, P1..P4), its timers interleaved with retries, drops and stops.
      maxRebuildIntervalMs: MIN_REBUILD_INTERVAL_MS * 4,
      stormQuietMs: 25,
      minHintIntervalMs: 20,
      logger: false,
    });
  }

  function addSlot(mode: 'push' | 'request'): void {
    const slot = { index: slots.length, mode, generation: 0, swaps: [], state: 'fresh' } as unknown as Slot;
    slot.reloader = makeReloader(slot);
    slots.push(slot);
  }

  function track(what: string, slot: Slot, version: number, promise: Promise<unknown>): Waiter {
    const waiter: Waiter = {
      what,
      slot: slot.index,
      generation: slot.generation,
      version,
      createdAt: now(),
      settled: false,
    };
    waiters.push(waiter);
    void promise.then(
      () => {
        waiter.settled = true;
      },
      (error: unknown) => {
        waiter.settled = true;
        if (!String(error).includes('rollback')) problems.push(`${what} rejected: ${String(error)}`);
      },
    );
    return waiter;
  }

  return {
    store,
    notifier,
    plan,
    waiters,
    problems,
    slots,
    instances,
    addSlot,
    start(slot: Slot): void {
      if (slot.state !== 'fresh') return;
      slot.state = 'starting';
      slot.startedAt = now();
      const start: NonNullable<Slot['start']> = { settled: false, stopCalledBefore: false };
      slot.start = start;
      slot.reloader.start().then(
        () => {
          start.settled = true;
          if (slot.state === 'starting') slot.state = 'started';
        },
        (error: ApphookError) => {
          start.settled = true;
          start.error = error;
          if (slot.state === 'starting') slot.state = 'failed';
        },
      );
    },
    stop(slot: Slot): void {
      if (slot.state === 'stopping' || slot.state === 'stopped') return;
      if (slot.start && !slot.start.settled) slot.start.stopCalledBefore = true;
      slot.state = 'stopping';
      const stop = { settled: false };
      slot.stop = stop;
      const instance = slot.instance;
      void slot.reloader.stop().then(() => {
        stop.settled = true;
        instance.stoppedAt = now();
        slot.state = 'stopped';
      });
    },
    /** A new reloader in a slot whose reloader stopped (or never started). */
    renew(slot: Slot): void {
      if (slot.state !== 'stopped' && slot.state !== 'fresh' && slot.state !== 'failed') return;
      if (slot.state === 'failed') void slot.reloader.stop();
      slot.generation++;
      slot.swaps = [];
      slot.state = 'fresh';
      slot.start = undefined;
      slot.stop = undefined;
      slot.reloader = makeReloader(slot);
    },
    /** A writer in this slot's process: markChanged in a transaction that commits or rolls back. */
    commit(slot: Slot, rollback: boolean): void {
      if (slot.state === 'stopping' || slot.state === 'stopped') return;
      const pending = { waiter: undefined as Waiter | undefined };
      const promise = store.transaction(async (tx) => {
        const version = await slot.reloader.markChanged(tx);
        // Known once bumped; it waits for this version from the commit on.
        if (pending.waiter) pending.waiter.version = version;
        if (rollback) throw new Error('rollback on purpose');
      });
      pending.waiter = track(
        rollback ? 'rolled-back commit' : 'commit',
        slot,
        Number.POSITIVE_INFINITY,
        promise,
      );
    },
    /** Another process commits and publishes (or its publish is lost). */
    async otherCommit(publish: boolean): Promise<void> {
      const version = await store.bump(undefined, SCOPE);
      if (publish) await notifier.publish(SCOPE, version).catch(() => {});
    },
    /** Another process commits `n` times, 2 ms apart, each published: a storm of hints. */
    async burst(n: number, advance: (ms: number) => Promise<unknown>): Promise<void> {
      for (let i = 0; i < n; i++) {
        const version = await store.bump(undefined, SCOPE);
        await notifier.publish(SCOPE, version).catch(() => {});
        await advance(2);
      }
    },
    check(slot: Slot): void {
      if (slot.state === 'stopping' || slot.state === 'stopped') return;
      const version = store.snapshot()[SCOPE] ?? 0;
      track(`check for v${version}`, slot, version, slot.reloader.check());
    },
  };
}

export type World = ReturnType<typeof createWorld>;
