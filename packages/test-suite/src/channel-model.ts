/**
 * A model-based test of a push channel's connection machine (the PostgreSQL LISTEN connection, the Redis
 * subscriber hub) against a real server behind a `FaultProxy`. fast-check draws random schedules of
 * subscribe, unsubscribe, committed notifications, drops, flapping links, blackholes, a server that refuses,
 * slow links, recoveries and waits; after every step and at the end it checks the connection invariants (G9, G12):
 *
 * - at most one connection per store on the server (pg_stat_activity, CLIENT LIST);
 * - no subscriber hears a notification twice, and none hears anything after its subscription closed;
 * - after the network recovers, every subscriber is told resync() (a lost connection always had a reconnect
 *   pending), and every notification committed after that is delivered;
 * - after close nothing is open: no connection on the server, none through the proxy.
 *
 * The number of schedules and the seed are printed; `APPHOOK_MODEL_SEED=<seed>` draws the same schedules
 * again, `APPHOOK_MODEL_PATH=<path>` (from fast-check's report) runs only the failing one, and
 * `APPHOOK_MODEL_RUNS=<n>` runs more. Timing on real servers varies, so a replay may need a few tries.
 */
import type { HintListener, Subscription } from '@apphook/core';
import fc from 'fast-check';
import type { FaultProxy } from './fault-proxy.js';

export type ModelAction =
  | { t: 'subscribe'; scope: number }
  | { t: 'unsubscribe'; pick: number }
  | { t: 'notify'; scope: number }
  | { t: 'drop' }
  | { t: 'flap'; ms: number }
  | { t: 'blackhole' }
  | { t: 'refuse' }
  | { t: 'recover' }
  | { t: 'delay'; ms: number }
  | { t: 'pooler'; on: boolean }
  | { t: 'wait'; ms: number };

/** The connection machine under test, opened once per schedule. */
export interface ModelChannel {
  subscribe(scope: string, listener: HintListener): Promise<Subscription>;
  close(): Promise<void>;
  /** `true` once connected and subscribed with nothing missed (what `resync()` announces). */
  healthy(): boolean;
}

export interface ChannelModelOptions {
  name: string;
  proxy: FaultProxy;
  /** A fresh channel machine (and fresh channel names) for each schedule, connecting through the proxy. */
  open(): ModelChannel;
  /** Commits a notification for `scope` on the server directly (not through the proxy). */
  notify(scope: string): Promise<void>;
  /** Connections of the machine under test that the server sees now. */
  connections(): Promise<number>;
  /** Makes connections opened from now on swallow notifications (a transaction-mode pooler), if supported. */
  pooler?(on: boolean): void;
  /** Longest time a reconnect may take once the network is back. @default 8000 */
  recoverMs?: number;
  runs?: number;
}

interface Sub {
  scope: string;
  calledAt: number;
  state: 'pending' | 'active' | 'rejected' | 'closed';
  resolvedAt?: number;
  closedAt?: number;
  subscription?: Subscription;
  settled: Promise<void>;
  events: Array<{ type: 'hint' | 'resync' | 'down'; seq: number }>;
}

const SCOPES = ['pages', 'menus', 'tenant-1'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function actions(withPooler: boolean): fc.Arbitrary<ModelAction[]> {
  const scope = fc.integer({ min: 0, max: SCOPES.length - 1 });
  const action: fc.Arbitrary<ModelAction> = fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('subscribe' as const), scope }), weight: 5 },
    { arbitrary: fc.record({ t: fc.constant('unsubscribe' as const), pick: fc.nat(9) }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('notify' as const), scope }), weight: 5 },
    { arbitrary: fc.constant({ t: 'drop' as const }), weight: 4 },
    // A flapping link: dropped again while the reconnect is under way.
    {
      arbitrary: fc.record({ t: fc.constant('flap' as const), ms: fc.integer({ min: 0, max: 900 }) }),
      weight: 3,
    },
    { arbitrary: fc.constant({ t: 'blackhole' as const }), weight: 1 },
    { arbitrary: fc.constant({ t: 'refuse' as const }), weight: 1 },
    { arbitrary: fc.constant({ t: 'recover' as const }), weight: 3 },
    {
      arbitrary: fc.record({ t: fc.constant('delay' as const), ms: fc.constantFrom(0, 0, 20, 120) }),
      weight: 1,
    },
    {
      arbitrary: fc.record({ t: fc.constant('pooler' as const), on: fc.boolean() }),
      weight: withPooler ? 3 : 0,
    },
    {
      arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 350 }) }),
      weight: 5,
    },
  );
  return fc.array(action, { minLength: 6, maxLength: 22 });
}

async function until(
  predicate: () => boolean | Promise<boolean>,
  what: string | (() => string),
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`model: ${typeof what === 'string' ? what : what()} (waited ${ms} ms)`);
    }
    await sleep(10);
  }
}

/** Runs the model; resolves with the number of schedules run, throws fast-check's report on a failure. */
export async function runChannelModel(options: ChannelModelOptions): Promise<number> {
  const runs = Number(process.env.APPHOOK_MODEL_RUNS || options.runs || 20);
  const seed = Number(process.env.APPHOOK_MODEL_SEED || Math.floor(Math.random() * 2 ** 31));
  console.log(
    `[${options.name} model] ${runs} schedules, seed ${seed} (replay: APPHOOK_MODEL_SEED=${seed} APPHOOK_MODEL_RUNS=${runs})`,
  );
  await fc.assert(
    fc.asyncProperty(actions(options.pooler !== undefined), (schedule) => runSchedule(options, schedule)),
    // Each schedule talks to real servers for seconds: report the failing one as drawn, no shrinking.
    {
      numRuns: runs,
      seed,
      endOnFailure: true,
      ...(process.env.APPHOOK_MODEL_PATH ? { path: process.env.APPHOOK_MODEL_PATH } : {}),
    },
  );
  return runs;
}

async function runSchedule(options: ChannelModelOptions, schedule: ModelAction[]): Promise<void> {
  const { proxy } = options;
  const recoverMs = options.recoverMs ?? 8000;
  proxy.mode = 'pass';
  proxy.delayMs = 0;
  options.pooler?.(false);
  const channel = options.open();
  const subs: Sub[] = [];
  const sent: Array<{ scope: string; seq: number }> = [];
  let seq = 0;
  let closed = false;
  const violations: string[] = [];

  const subscribe = (scope: string) => {
    const sub: Sub = { scope, calledAt: ++seq, state: 'pending', settled: Promise.resolve(), events: [] };
    const record = (type: 'hint' | 'resync' | 'down') => () => {
      // Recorded, not thrown: a throw here would land in the client library's event handler.
      if (sub.state === 'closed' || sub.state === 'rejected') {
        violations.push(`a ${type} reached a subscription of '${scope}' that was ${sub.state}`);
      }
      sub.events.push({ type, seq: ++seq });
    };
    const listener: HintListener = { hint: record('hint'), resync: record('resync'), down: record('down') };
    sub.settled = channel.subscribe(scope, listener).then(
      (subscription) => {
        sub.subscription = subscription;
        sub.resolvedAt = ++seq;
        if (sub.state === 'pending') sub.state = 'active';
      },
      (error: unknown) => {
        sub.state = 'rejected';
        // Refusing is fine while the network is down or the channel closes; anything else is a bug.
        const code = (error as { code?: unknown }).code;
        if (code !== 'E_CONNECTION' && code !== 'E_STATE')
          violations.push(`subscribe() rejected with ${String(error)}`);
      },
    );
    subs.push(sub);
  };

  /**
   * At most once: a subscriber never hears more hints than notifications of its scope were committed. (One
   * committed just before subscribe() and held up by a slow link may still reach it: not a duplicate.)
   */
  const checkAtMostOnce = () => {
    if (violations.length > 0) throw new Error(`model: ${violations.join('; ')}`);
    for (const sub of subs) {
      const hints = sub.events.filter((e) => e.type === 'hint').length;
      const possible = sent.filter((n) => n.scope === sub.scope).length;
      if (hints > possible) {
        throw new Error(
          `model: '${sub.scope}' heard ${hints} hints for ${possible} notifications (delivered twice)`,
        );
      }
    }
  };
  const checkOneConnection = () =>
    until(async () => (await options.connections()) <= 1, 'more than one connection on the server', 3000);

  try {
    for (const action of schedule) {
      switch (action.t) {
        case 'subscribe':
          subscribe(SCOPES[action.scope]!);
          break;
        case 'unsubscribe': {
          const active = subs.filter((s) => s.state === 'active');
          const sub = active[action.pick % Math.max(1, active.length)];
          if (sub?.subscription) {
            sub.state = 'closed';
            sub.closedAt = ++seq;
            await sub.subscription.close();
          }
          break;
        }
        case 'notify': {
          const scope = SCOPES[action.scope]!;
          sent.push({ scope, seq: ++seq });
          await options.notify(scope);
          break;
        }
        case 'drop':
          proxy.dropAll();
          break;
        case 'flap':
          proxy.dropAll();
          await sleep(action.ms);
          proxy.dropAll();
          break;
        case 'blackhole':
          proxy.mode = 'blackhole';
          break;
        case 'refuse':
          proxy.mode = 'refuse';
          proxy.dropAll();
          break;
        case 'recover':
          proxy.mode = 'pass';
          break;
        case 'delay':
          proxy.delayMs = action.ms;
          break;
        case 'pooler':
          options.pooler?.(action.on);
          break;
        case 'wait':
          await sleep(action.ms);
          break;
      }
      await sleep(2); // let the client library notice what the network just did
      checkAtMostOnce();
      await checkOneConnection();
    }

    // The network recovers for good: every subscription settles, every listener is back (resync() after its
    // last down(): a reconnect was pending), and notifications committed from then on are delivered.
    proxy.mode = 'pass';
    proxy.delayMs = 0;
    options.pooler?.(false);
    await Promise.all(subs.map((s) => s.settled));
    const live = subs.filter((s) => s.state === 'active');
    // A connection made through the "pooler" stays deaf until it is remade.
    if (
      options.pooler &&
      live.some((s) => s.events.filter((e) => e.type !== 'hint').at(-1)?.type === 'down')
    ) {
      proxy.dropAll();
    }
    await until(
      () => live.every((s) => s.events.filter((e) => e.type !== 'hint').at(-1)?.type !== 'down'),
      () =>
        `a subscriber told down() never heard resync() after the network recovered: ${JSON.stringify(
          live.map((s) => [s.scope, s.calledAt, s.resolvedAt, ...s.events.map((e) => `${e.type}@${e.seq}`)]),
        )}`,
      recoverMs,
    );
    if (live.length > 0)
      await until(() => channel.healthy(), 'the channel never became healthy again', recoverMs);
    const mark = ++seq;
    for (const scope of new Set(live.map((s) => s.scope))) {
      sent.push({ scope, seq: ++seq });
      await options.notify(scope);
    }
    await until(
      () => live.every((s) => s.events.some((e) => e.type === 'hint' && e.seq > mark)),
      'a notification committed after recovery was not delivered',
      5000,
    );
    await sleep(100); // a duplicate would arrive about now
    checkAtMostOnce();
    await checkOneConnection();
    closed = true;
    await channel.close();
    await until(
      async () => (await options.connections()) === 0,
      'a connection stayed open after close()',
      3000,
    );
    await until(() => proxy.open === 0, 'a socket stayed open through the proxy after close()', 3000);
  } finally {
    if (!closed) await channel.close().catch(() => {});
    proxy.mode = 'pass';
    proxy.delayMs = 0;
  }
}
