import { callbackBinding, createReloader, memoryNotifier, memoryStore, type Notifier } from '@apphook/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PublishCoalescing } from '../src/publish-coalescing.js';

/*
 * Publish coalescing (publish-coalescing.ts, C1..C5): in a burst of this process's commits, one notifier publish
 * per scope per `minPublishIntervalMs`, the first at once and the last after the last commit. The model runs
 * random schedules of commits, time and a close against the class and checks every rule on the trace; the
 * negative controls run the same property against the two naive ways (a throttle that drops commits inside the
 * window, a debounce that waits for silence) and must fail.
 * Reproduce: APPHOOK_FC_SEED=<seed> pnpm vitest run packages/core/test/publish-coalescing.test.ts
 */

const SEED = Number(process.env.APPHOOK_FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.APPHOOK_FC_RUNS ?? 100);
const WINDOW = 10;

interface Coalescer {
  committed(version: number): void;
  close(): void;
}
type Factory = (minMs: number, send: (version: number) => void) => Coalescer;

const real: Factory = (minMs, send) => new PublishCoalescing(minMs, send);

/** Negative control: a leading-edge throttle, commits inside the window are dropped (breaks C2). */
const throttle: Factory = (minMs, send) => {
  let last = Number.NEGATIVE_INFINITY;
  return {
    committed(version) {
      if (Date.now() - last < minMs) return;
      last = Date.now();
      send(version);
    },
    close() {},
  };
};

/** Negative control: a debounce, each commit restarts the wait, so a steady burst never publishes (breaks C1, C2). */
const debounce: Factory = (minMs, send) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let held = -1;
  return {
    committed(version) {
      held = Math.max(held, version);
      clearTimeout(timer);
      timer = setTimeout(() => send(held), minMs);
    },
    close() {
      clearTimeout(timer);
      send(held);
    },
  };
};

type Step = { t: 'commit' } | { t: 'advance'; ms: number } | { t: 'close' };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ t: 'commit' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 40 })),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'close' as const }) },
);

/** Runs `steps` against a coalescer and checks C1..C5 on the trace; throws with the broken rule. */
async function check(factory: Factory, steps: Step[]): Promise<void> {
  vi.clearAllTimers();
  const sends: Array<{ at: number; version: number }> = [];
  const commits: Array<{ at: number; version: number; leading: boolean }> = [];
  const c = factory(WINDOW, (version) => sends.push({ at: Date.now(), version }));
  let version = 0;
  let closed = false;
  for (const s of steps) {
    if (s.t === 'commit') {
      const lastSend = sends.at(-1);
      const leading = closed || !lastSend || Date.now() - lastSend.at >= WINDOW;
      const before = sends.length;
      commits.push({ at: Date.now(), version: ++version, leading });
      c.committed(version);
      // C1 (and C5: after close every commit goes out at once).
      if (leading && sends.length === before)
        throw new Error(
          `C1: v${version}, ${lastSend ? Date.now() - lastSend.at : '∞'} ms after the last publish, was held`,
        );
    } else if (s.t === 'advance') {
      await vi.advanceTimersByTimeAsync(s.ms);
    } else if (!closed) {
      closed = true;
      c.close();
      if (vi.getTimerCount() !== 0) throw new Error('C5: a timer outlived close()');
    }
  }
  await vi.advanceTimersByTimeAsync(WINDOW);
  // C3: spacing, while not closed (after close every commit is sent at once).
  for (let i = 1; i < sends.length; i++) {
    const gap = sends[i]!.at - sends[i - 1]!.at;
    if (!closed && gap < WINDOW) throw new Error(`C3: two publishes ${gap} ms apart`);
    if (sends[i]!.version < sends[i - 1]!.version) throw new Error('C4: the versions sent went backwards');
  }
  // C2 and C4: every commit is covered by a publish at or after it, of its version or newer, within the window.
  for (const commit of commits) {
    const cover = sends.find((s) => s.at >= commit.at && s.version >= commit.version);
    if (!cover) throw new Error(`C2: v${commit.version} (committed at ${commit.at}) was never published`);
    if (cover.at - commit.at > WINDOW)
      throw new Error(`C2: v${commit.version} was published ${cover.at - commit.at} ms after its commit`);
  }
}

describe('publish coalescing (C1..C5)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('an isolated commit publishes at once; a burst publishes once per window, the last after the last commit', async () => {
    const sends: Array<{ at: number; version: number }> = [];
    const c = new PublishCoalescing(WINDOW, (version) => sends.push({ at: Date.now(), version }));
    const t0 = Date.now();
    c.committed(1);
    expect(sends).toEqual([{ at: t0, version: 1 }]);
    await vi.advanceTimersByTimeAsync(100);
    // 50 commits 1 ms apart
    for (let v = 2; v <= 51; v++) {
      c.committed(v);
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(WINDOW);
    const burst = sends.slice(1);
    expect(burst.length).toBeLessThanOrEqual(Math.ceil(50 / WINDOW) + 1);
    expect(burst.at(-1)!.version).toBe(51);
    expect(c.coalesced).toBe(50 - burst.length);
  });

  it('close() sends what it holds at once and leaves no timer; later commits publish at once', async () => {
    const sent: number[] = [];
    const c = new PublishCoalescing(WINDOW, (version) => sent.push(version));
    c.committed(1);
    c.committed(2);
    expect(sent).toEqual([1]);
    expect(vi.getTimerCount()).toBe(1);
    c.close();
    expect(sent).toEqual([1, 2]);
    expect(vi.getTimerCount()).toBe(0);
    c.committed(3);
    c.committed(4);
    expect(sent).toEqual([1, 2, 3, 4]);
  });

  it('minPublishIntervalMs 0 publishes every commit at once', () => {
    const sent: number[] = [];
    const c = new PublishCoalescing(0, (version) => sent.push(version));
    for (let v = 1; v <= 5; v++) c.committed(v);
    expect(sent).toEqual([1, 2, 3, 4, 5]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('model: C1..C5 hold on random schedules of commits, time and close', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), (steps) => check(real, steps)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  for (const [name, factory, rule] of [
    ['a throttle that drops commits inside the window', throttle, /C2/],
    ['a debounce that waits for silence', debounce, /C1|C2|C3/],
  ] as const) {
    it(`negative control: ${name} breaks the model`, async () => {
      const result = await fc.check(
        fc.asyncProperty(fc.array(step, { maxLength: 60 }), (steps) => check(factory, steps)),
        { seed: SEED, numRuns: RUNS * 5 },
      );
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(rule);
    });
  }
});

describe('a reloader coalesces its notifier publishes (minPublishIntervalMs)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A writer reloader and another process's reloader that hears only the notifier. */
  async function pair(minPublishIntervalMs?: number) {
    const store = memoryStore({ push: false, logger: false });
    const inner = memoryNotifier();
    const publishes: Array<{ at: number; version: number }> = [];
    const notifier: Notifier = {
      name: 'counting notifier',
      publish: (scope, version) => {
        publishes.push({ at: Date.now(), version });
        return inner.publish(scope, version);
      },
      subscribe: (scope, listener) => inner.subscribe(scope, listener),
    };
    const binding = () => callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) });
    const common = { store, notifier, logger: false as const, safetyIntervalMs: 3_600_000 };
    const writer = createReloader({
      ...common,
      binding: binding(),
      mode: 'interval',
      intervalMs: 3_600_000,
      ...(minPublishIntervalMs === undefined ? {} : { minPublishIntervalMs }),
    });
    const other = createReloader({ ...common, binding: binding(), mode: 'push', minRebuildIntervalMs: 0 });
    await Promise.all(
      [writer.start(), other.start()].map((p) => vi.advanceTimersByTimeAsync(0).then(() => p)),
    );
    return { store, writer, other, publishes };
  }

  async function burst(store: ReturnType<typeof memoryStore>, writer: ReturnType<typeof createReloader>) {
    let last = 0;
    for (let i = 0; i < 50; i++) {
      last = await store.transaction((tx) => writer.markChanged(tx));
      await vi.advanceTimersByTimeAsync(1);
    }
    return last;
  }

  it('a burst of 50 commits 1 ms apart: at most one publish per 10 ms, and the other process serves the last', async () => {
    const { store, writer, other, publishes } = await pair();
    const last = await burst(store, writer);
    await vi.advanceTimersByTimeAsync(100);
    expect(publishes.length).toBeLessThanOrEqual(Math.ceil(50 / 10) + 2);
    expect(publishes.at(-1)!.version).toBe(last);
    expect(other.version).toBe(last);
    expect(writer.stats().coalescedPublishes).toBe(50 - publishes.length);
    await Promise.all([writer.stop(), other.stop()]);
  });

  it('negative control: minPublishIntervalMs 0 publishes all 50', async () => {
    const { store, writer, other, publishes } = await pair(0);
    await burst(store, writer);
    expect(publishes.length).toBe(50);
    expect(writer.stats().coalescedPublishes).toBe(0);
    await Promise.all([writer.stop(), other.stop()]);
  });

  it('stop() sends the publish it holds back at once (C5)', async () => {
    const { store, writer, other, publishes } = await pair();
    await store.transaction((tx) => writer.markChanged(tx));
    const held = await store.transaction((tx) => writer.markChanged(tx));
    expect(publishes.map((p) => p.version)).not.toContain(held);
    await writer.stop();
    expect(publishes.at(-1)!.version).toBe(held);
    await vi.advanceTimersByTimeAsync(50); // the other process's hint throttle (minHintIntervalMs)
    expect(other.version).toBe(held);
    await other.stop();
  });

  it('rejects a negative minPublishIntervalMs with a message that says what to pass (G11)', () => {
    expect(() =>
      createReloader({
        store: memoryStore(),
        binding: callbackBinding({ rebuildRoutes: () => true }),
        minPublishIntervalMs: -1,
      }),
    ).toThrow(/minPublishIntervalMs must be a non-negative number of milliseconds/);
  });
});
