import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { flush } from './helpers.js';
import { createWorld, REBUILD_TIMEOUT_MS, SCOPE, type World } from './model-world.js';

/*
 * Model-based tests of the reloader's lifecycle and build scheduler (G3, G4, G5, G8, G12): random schedules of
 * start, stop, renewals, commits (through a reloader, or by another process with or without a publish, or a burst),
 * rollbacks, checks, forged hints, failing and slow builds, channel drops and reconnects, over the memory store
 * and notifier with fake timers. After every step the invariants below must hold; at the end every reloader must
 * converge once the faults stop, and nothing may stay open.
 *
 * Reproduce a failure with the printed seed: APPHOOK_FC_SEED=<seed> pnpm vitest run packages/core/test/model.test.ts
 * (APPHOOK_FC_RUNS sets the number of schedules).
 */

const SEED = Number(process.env.APPHOOK_FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.APPHOOK_FC_RUNS ?? 200);
/** A waiter of a running reloader settles within a build in flight plus its own build, with slack. */
const SETTLE_BOUND_MS = 2 * REBUILD_TIMEOUT_MS + 100;

type Action =
  | { t: 'start' | 'stop' | 'renew' | 'check'; slot: number }
  | { t: 'commit'; slot: number; rollback: boolean }
  | { t: 'bounce'; slot: number; ms: number }
  | { t: 'other'; publish: boolean }
  | { t: 'burst'; n: number }
  | { t: 'forged' }
  | { t: 'drop' | 'reconnect' }
  | { t: 'plan'; steps: Array<{ ok: boolean; ms: number }> }
  | { t: 'advance'; ms: number };

const slot = fc.integer({ min: 0, max: 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('start' as const), slot }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('stop' as const), slot }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('renew' as const), slot }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('check' as const), slot }) },
  // A new reloader started, then stopped `ms` later: while it subscribes, reads or builds (G12).
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('bounce' as const), slot, ms: fc.integer({ min: 0, max: 15 }) }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('commit' as const), slot, rollback: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('other' as const), publish: fc.boolean() }) },
  // A storm of commits by another process: the pacing backoff (rebuild-pacing.ts) and absorbed hints (S8).
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('burst' as const), n: fc.integer({ min: 2, max: 60 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('forged' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('drop' as const, 'reconnect' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('plan' as const),
      steps: fc.array(fc.record({ ok: fc.boolean(), ms: fc.integer({ min: 0, max: 200 }) }), {
        maxLength: 4,
      }),
    }),
  },
  {
    weight: 4,
    // Short steps land inside a start() or a build; long ones let backoffs and polls fire.
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 300 })),
    }),
  },
);

async function step(world: World, a: Action): Promise<void> {
  const s = 'slot' in a ? world.slots[a.slot]! : undefined;
  switch (a.t) {
    case 'start':
      return world.start(s!);
    case 'stop':
      return world.stop(s!);
    case 'renew':
      return world.renew(s!);
    case 'check':
      return world.check(s!);
    case 'bounce':
      if (s!.state === 'stopping') await vi.advanceTimersByTimeAsync(0);
      if (s!.state !== 'fresh') world.stop(s!);
      await vi.advanceTimersByTimeAsync(0);
      world.renew(s!);
      world.start(s!);
      await vi.advanceTimersByTimeAsync(a.ms);
      return world.stop(s!);
    case 'commit':
      return world.commit(s!, a.rollback);
    case 'other':
      return world.otherCommit(a.publish);
    case 'burst':
      return world.burst(a.n, (ms) => vi.advanceTimersByTimeAsync(ms));
    case 'forged':
      return void world.notifier.publish(SCOPE, 999_999).catch(() => {});
    case 'drop':
      return world.notifier.disconnect();
    case 'reconnect':
      return world.notifier.reconnect();
    case 'plan':
      world.plan.push(...a.steps);
      return;
    case 'advance':
      await vi.advanceTimersByTimeAsync(a.ms);
      return;
  }
}

/** The invariants, after every step. Throws with what broke. */
function checkInvariants(world: World, unhandled: unknown[]): void {
  const now = Date.now();
  const committed = world.store.snapshot()[SCOPE] ?? 0;
  const fail = (message: string) => {
    throw new Error(`invariant broken at t=${now}: ${message}`);
  };
  if (unhandled.length > 0) fail(`unhandled rejection: ${String(unhandled[0])}`);
  if (world.problems.length > 0) fail(world.problems[0]!);
  for (const slot of world.slots) {
    const { reloader, swaps, start, stop } = slot;
    // Never an older version, never a version not committed, and exact builds (G3, G4).
    for (let i = 1; i < swaps.length; i++) {
      if (swaps[i]!.label <= swaps[i - 1]!.label)
        fail(`slot ${slot.index} swapped ${swaps[i]!.label} after ${swaps[i - 1]!.label}`);
    }
    for (const swap of swaps) {
      if (swap.rows !== swap.label)
        fail(`slot ${slot.index}: build labelled ${swap.label} read the rows of ${swap.rows}`);
    }
    if ((reloader.version ?? 0) > committed)
      fail(`slot ${slot.index} serves ${reloader.version} > committed ${committed}`);
    // start() settles with a clear result (L2): E_STOPPED whenever stop() came first.
    if (start?.settled && start.stopCalledBefore && start.error?.code !== 'E_STOPPED') {
      fail(
        `slot ${slot.index}: stop() during start(), but start() ${start.error ? `rejected with ${start.error.code}` : 'resolved'}`,
      );
    }
    if (
      start?.settled &&
      start.error &&
      !start.stopCalledBefore &&
      !/E_REBUILD|E_TIMEOUT/.test(start.error.code)
    ) {
      fail(`slot ${slot.index}: start() rejected with ${start.error.code}: ${start.error.message}`);
    }
    // stop() aborts whatever is in flight: it settles without waiting for anything slow (G12).
    if (stop && !stop.settled) fail(`slot ${slot.index}: stop() has not settled`);
  }
  // Nothing open after stop (L3, C1): a late subscription is closed as it arrives (it takes 3 ms to open).
  for (const instance of world.instances) {
    if (instance.stoppedAt !== undefined && now - instance.stoppedAt >= 10 && instance.open !== 0) {
      fail(
        `reloader ${instance.slot}.${instance.generation} still has ${instance.open} subscription(s) after stop()`,
      );
    }
  }
  // Every waiter settles once its version serves, and within a bounded time while its reloader runs (S6, S5).
  for (const waiter of world.waiters) {
    if (waiter.settled) continue;
    const slot = world.slots[waiter.slot]!;
    if (slot.generation !== waiter.generation) fail(`${waiter.what} on a replaced reloader never settled`);
    if ((slot.reloader.version ?? -1) >= waiter.version) {
      fail(
        `${waiter.what} (v${waiter.version}) still waits while slot ${slot.index} serves ${slot.reloader.version}`,
      );
    }
    if (now - waiter.createdAt > SETTLE_BOUND_MS) {
      fail(`${waiter.what} (v${waiter.version}) on slot ${slot.index} waited ${now - waiter.createdAt} ms`);
    }
  }
  for (const slot of world.slots) {
    const start = slot.start;
    if (start && !start.settled && now - (slot.startedAt ?? now) > SETTLE_BOUND_MS)
      fail(`slot ${slot.index}: start() hangs`);
  }
}

/** Heals every fault, (re)starts every slot, lets time pass: each must serve the last commit (G3, G9). */
async function converge(world: World, unhandled: unknown[]): Promise<void> {
  world.plan.length = 0;
  world.notifier.reconnect();
  for (let t = 0; t < 36_000; t += 1000) {
    for (const slot of world.slots) {
      // A first build that failed leaves its reloader idle: a new one takes over, as an operator would.
      if (slot.state !== 'started' && slot.state !== 'starting' && slot.state !== 'stopping') {
        world.renew(slot);
        world.start(slot);
      }
    }
    await vi.advanceTimersByTimeAsync(1000);
    await flush(50);
    checkInvariants(world, unhandled);
  }
  const committed = world.store.snapshot()[SCOPE] ?? 0;
  for (const slot of world.slots) {
    if (slot.reloader.version !== committed) {
      throw new Error(
        `slot ${slot.index} (${slot.state}) serves ${slot.reloader.version}, not ${committed}, after the faults healed`,
      );
    }
  }
}

async function shutDown(world: World): Promise<void> {
  for (const slot of world.slots) world.stop(slot);
  await vi.advanceTimersByTimeAsync(50);
  await flush();
  for (const instance of world.instances) {
    if (instance.open !== 0)
      throw new Error(
        `reloader ${instance.slot}.${instance.generation} left ${instance.open} subscription(s) open`,
      );
  }
  if (world.notifier.subscriberCount !== 0) throw new Error('notifier subscriptions left open');
  if (vi.getTimerCount() !== 0)
    throw new Error(`${vi.getTimerCount()} timer(s) left after every reloader stopped`);
}

describe('reloader model: random schedules of lifecycle, commits and faults', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    vi.useFakeTimers();
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    vi.useRealTimers();
  });

  it('keeps every invariant after every step, converges after faults and leaves nothing open', async () => {
    console.log(`[model] ${RUNS} schedules, seed ${SEED} (reproduce: APPHOOK_FC_SEED=${SEED})`);
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(action, { minLength: 5, maxLength: 50 }),
        async (boot, rest) => {
          // Most schedules begin with both reloaders running, so faults hit running reloaders more often.
          const actions: Action[] = boot
            ? [{ t: 'start', slot: 0 }, { t: 'start', slot: 1 }, { t: 'advance', ms: 20 }, ...rest]
            : rest;
          vi.clearAllTimers();
          unhandled.length = 0;
          const world = createWorld(() => Date.now());
          world.addSlot('push');
          world.addSlot('request');
          for (const a of actions) {
            await step(world, a);
            await vi.advanceTimersByTimeAsync(0);
            await flush(50);
            checkInvariants(world, unhandled);
          }
          await converge(world, unhandled);
          checkInvariants(world, unhandled);
          await shutDown(world);
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: false },
    );
    expect(unhandled).toEqual([]);
  });
});
