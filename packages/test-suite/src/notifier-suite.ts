/**
 * The notifier compliance suite: what every `Notifier` must do, run against a real server by each notifier
 * package (and by core's `memoryNotifier`). Deliveries are awaited, never slept for; "nothing arrived" is
 * proved with a fence: a later publish on another scope that did arrive, so earlier ones had their chance
 * (the suite assumes one publisher's messages arrive in order, which Redis pub/sub and the in-memory notifier
 * guarantee).
 */
import { randomUUID } from 'node:crypto';
import {
  callbackBinding,
  createReloader,
  type HintListener,
  type MemoryTransaction,
  memoryStore,
  type Notifier,
  type Subscription,
  type TokenStore,
} from '@apphook/core';
import { afterEach, describe, expect, it } from 'vitest';

export interface NotifierSuiteOptions<N extends Notifier = Notifier> {
  /** Shown in the describe block, e.g. `'redisNotifier (per-scope channels)'`. */
  name: string;
  /** A fresh notifier for each test, connected to the real server. */
  createNotifier(): N | Promise<N>;
  /** Releases a notifier after its test. @default notifier.close?.() */
  destroy?(notifier: N): void | Promise<void>;
  /**
   * Counts the subscriber connections the notifier holds open now (Redis: `CLIENT LIST` by name). Enables
   * the "one shared subscriber" and "close releases it" checks.
   */
  subscriberConnections?(notifier: N): Promise<number>;
  /** `true` skips the suite (server unreachable locally; `requireService` throws under CI instead). */
  skip?: boolean;
  /**
   * How long a delivery may take before the test fails: only a hang limit (a delivery takes milliseconds alone,
   * seconds on a loaded 2-core machine running test files side by side). @default 20000
   */
  timeoutMs?: number;
}

type Event = { type: 'hint'; scope: string } | { type: 'resync' } | { type: 'down'; error: unknown };

/** A `HintListener` that records what it heard and lets a test wait for it. */
export interface RecordingListener extends HintListener {
  readonly events: Event[];
  hints(scope?: string): number;
  /** Resolves once `predicate` holds, rejects after `timeoutMs`. */
  until(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

export function recordingListener(defaultTimeoutMs = 5000): RecordingListener {
  const events: Event[] = [];
  return {
    events,
    hint(scope) {
      events.push({ type: 'hint', scope });
    },
    resync() {
      events.push({ type: 'resync' });
    },
    down(error) {
      events.push({ type: 'down', error });
    },
    hints(scope) {
      return events.filter((e) => e.type === 'hint' && (scope === undefined || e.scope === scope)).length;
    },
    until(predicate, what, timeoutMs = defaultTimeoutMs) {
      return waitFor(predicate, what, timeoutMs, 5);
    },
  };
}

/** A memory store that counts reads and has no native push, so only the notifier can carry hints. */
export function countingStore(): TokenStore<MemoryTransaction> & {
  reads: number;
  commit(scope: string): Promise<number>;
  transaction: ReturnType<typeof memoryStore>['transaction'];
} {
  const inner = memoryStore({ push: false, logger: false });
  const store = {
    name: 'counting memory store',
    reads: 0,
    read(scope: string) {
      store.reads++;
      return inner.read(scope);
    },
    bump: (tx: MemoryTransaction, scope: string) => inner.bump(tx, scope),
    afterCommit: inner.afterCommit,
    transaction: inner.transaction,
    /** Commits a bump without publishing anything. */
    commit: (scope: string) => inner.transaction((tx) => inner.bump(tx, scope)),
  };
  return store;
}

export function runNotifierSuite<N extends Notifier>(options: NotifierSuiteOptions<N>): void {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const run = `t${randomUUID().slice(0, 8)}`;
  let counter = 0;
  /** Scopes unique to this run and test, so parallel files and earlier tests never interfere. */
  const scope = (name: string) => `${run}.${++counter}.${name}`;

  describe.skipIf(options.skip === true)(`notifier compliance: ${options.name}`, () => {
    const live: N[] = [];
    const subscriptions: Subscription[] = [];

    async function notifier(): Promise<N> {
      const created = await options.createNotifier();
      live.push(created);
      return created;
    }

    async function subscribe(n: N, name: string, listener: HintListener): Promise<Subscription> {
      const subscription = await n.subscribe(name, listener);
      subscriptions.push(subscription);
      return subscription;
    }

    afterEach(async () => {
      await Promise.allSettled(subscriptions.splice(0).map((s) => s.close()));
      for (const n of live.splice(0)) {
        if (options.destroy) await options.destroy(n);
        else await n.close?.();
      }
    });

    it('delivers a publish to the subscribers of that scope only', async () => {
      const n = await notifier();
      const [a, b] = [scope('a'), scope('b')];
      const onA = recordingListener(timeoutMs);
      const onB = recordingListener(timeoutMs);
      await subscribe(n, a, onA);
      await subscribe(n, b, onB);
      await n.publish(a, 1);
      await onA.until(() => onA.hints(a) === 1, `a hint on ${a}`);
      await n.publish(b, 1);
      await onB.until(() => onB.hints(b) === 1, `a hint on ${b}`);
      expect(onA.events).toEqual([{ type: 'hint', scope: a }]);
      expect(onB.events).toEqual([{ type: 'hint', scope: b }]);
    });

    it('delivers to every subscriber of a scope', async () => {
      const n = await notifier();
      const s = scope('shared');
      const first = recordingListener(timeoutMs);
      const second = recordingListener(timeoutMs);
      await subscribe(n, s, first);
      await subscribe(n, s, second);
      await n.publish(s, 3);
      await first.until(() => first.hints(s) === 1, 'the first listener');
      await second.until(() => second.hints(s) === 1, 'the second listener');
    });

    it('delivers a publish made right after subscribe() resolved (subscribe resolves once listening)', async () => {
      const n = await notifier();
      const listeners = Array.from({ length: 20 }, () => recordingListener(timeoutMs));
      const scopes = listeners.map((_, i) => scope(`listen-first-${i}`));
      for (const [i, listener] of listeners.entries()) {
        await subscribe(n, scopes[i]!, listener);
        await n.publish(scopes[i]!, i + 1);
      }
      for (const [i, listener] of listeners.entries()) {
        await listener.until(() => listener.hints(scopes[i]) === 1, `the hint on ${scopes[i]}`);
      }
    });

    it('stops delivery to a subscription once it is closed, and keeps the others', async () => {
      const n = await notifier();
      const s = scope('unsub');
      const fence = scope('fence');
      const gone = recordingListener(timeoutMs);
      const kept = recordingListener(timeoutMs);
      const onFence = recordingListener(timeoutMs);
      const goneSubscription = await subscribe(n, s, gone);
      await subscribe(n, s, kept);
      await subscribe(n, fence, onFence);
      await goneSubscription.close();
      await goneSubscription.close(); // idempotent
      await n.publish(s, 1);
      await kept.until(() => kept.hints(s) === 1, 'the kept listener');
      await n.publish(fence, 1);
      await onFence.until(() => onFence.hints(fence) === 1, 'the fence');
      expect(gone.hints()).toBe(0);
    });

    it('stops delivery on a scope whose last subscription closed', async () => {
      const n = await notifier();
      const s = scope('last');
      const fence = scope('fence');
      const listener = recordingListener(timeoutMs);
      const onFence = recordingListener(timeoutMs);
      const subscription = await subscribe(n, s, listener);
      await subscribe(n, fence, onFence);
      await subscription.close();
      await n.publish(s, 1);
      await n.publish(fence, 1);
      await onFence.until(() => onFence.hints(fence) === 1, 'the fence');
      expect(listener.hints()).toBe(0);
    });

    it('serves many scopes through one shared subscriber', async () => {
      const n = await notifier();
      const listeners = Array.from({ length: 25 }, () => recordingListener(timeoutMs));
      const scopes = listeners.map((_, i) => scope(`many-${i}`));
      await Promise.all(listeners.map((listener, i) => subscribe(n, scopes[i]!, listener)));
      if (options.subscriberConnections) expect(await options.subscriberConnections(n)).toBe(1);
      await Promise.all(scopes.map((s, i) => n.publish(s, i + 1)));
      for (const [i, listener] of listeners.entries()) {
        await listener.until(() => listener.hints(scopes[i]) === 1, `the hint on ${scopes[i]}`);
        expect(listener.hints()).toBe(1);
      }
    });

    // Only for notifiers with connections to count; not registered at all otherwise, so CI shows no skip.
    const withConnections = options.subscriberConnections ? it : () => {};
    withConnections(
      'releases the subscriber when the last subscription closes, and subscribes again afterwards',
      async () => {
        const n = await notifier();
        const count = () => options.subscriberConnections!(n);
        const first = await subscribe(n, scope('release-1'), recordingListener(timeoutMs));
        const second = await subscribe(n, scope('release-2'), recordingListener(timeoutMs));
        expect(await count()).toBe(1);
        await first.close();
        expect(await count()).toBe(1);
        await second.close();
        await waitFor(async () => (await count()) === 0, 'the subscriber connection to close', timeoutMs);
        const again = scope('again');
        const listener = recordingListener(timeoutMs);
        await subscribe(n, again, listener);
        await n.publish(again, 1);
        await listener.until(() => listener.hints(again) === 1, 'a hint after resubscribing');
      },
    );

    it('close() ends delivery and releases the subscriber; calling it twice is harmless', async () => {
      const n = await notifier();
      const s = scope('closed');
      const listener = recordingListener(timeoutMs);
      await subscribe(n, s, listener);
      await n.close?.();
      await n.close?.();
      // A closed notifier may reject a publish; either way nothing reaches the old listener.
      await n.publish(s, 1).catch(() => {});
      if (options.subscriberConnections) {
        await waitFor(
          async () => (await options.subscriberConnections!(n)) === 0,
          'the subscriber connection to close',
          timeoutMs,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(listener.hints()).toBe(0);
    });

    it('rejects a scope that is not a valid scope with E_SCOPE', async () => {
      const n = await notifier();
      await expect(n.publish('not a scope!', 1)).rejects.toMatchObject({ code: 'E_SCOPE' });
      await expect(n.subscribe('', recordingListener(timeoutMs))).rejects.toMatchObject({ code: 'E_SCOPE' });
    });

    it('a hint only makes a reloader read the store: the version never comes from the message (G10)', async () => {
      const n = await notifier();
      const s = scope('reloader');
      const store = countingStore();
      const versions: number[] = [];
      const reloader = createReloader({
        store,
        notifier: n,
        binding: callbackBinding({
          rebuildRoutes: ({ version }) => {
            versions.push(version);
            return { version };
          },
        }),
        scope: s,
        mode: 'push',
        intervalMs: 60_000,
        safetyIntervalMs: 600_000,
        logger: false,
      });
      await reloader.start();
      try {
        expect(reloader.version).toBe(0);
        // A forged hint claiming version 999 while nothing was committed: a read, and still version 0.
        const readsBefore = store.reads;
        await n.publish(s, 999);
        await waitFor(async () => store.reads > readsBefore, 'a store read after the hint', timeoutMs);
        expect(reloader.version).toBe(0);
        // A real commit, announced with a wrong version: the reloader serves what the store says.
        await store.commit(s);
        await n.publish(s, 999);
        await waitFor(async () => reloader.version === 1, 'the reloader to serve version 1', timeoutMs);
        expect(versions).toEqual([0, 1]);
        expect(reloader.stats().hints).toBeGreaterThanOrEqual(2);
      } finally {
        await reloader.stop();
      }
    });
  });
}

/**
 * Polls a predicate every `everyMs` until it holds; rejects after `timeoutMs`, which only catches a hang: what
 * a test checks is the state it waits for, never how soon it came (speed is measured in benchmarks).
 */
export async function waitFor(
  predicate: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
  everyMs = 20,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await predicate()) return;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
