import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NotifyCoalescing, type NotifyTicket } from '../src/notify-coalescing.js';

/*
 * Model-based test of NOTIFY coalescing (src/notify-coalescing.ts, N1..N5) with fake timers: one scope, its
 * transactions serialised by the token row's lock as in PostgreSQL (a transaction bumps, decides, then commits
 * or rolls back before the next one bumps), each commit's after-commit hook run at a random later moment (the
 * event loop's lag), trailing sends that take a random time, and close() at a random point. Checked at the end
 * of every schedule, against what a LISTEN client would have heard:
 *
 * M1 (N2) every committed version is followed by a NOTIFY delivered at or after its commit that names it or a
 *    newer version, at most MIN_MS (+ the sends in flight) after the store learned of the commit.
 * M2 (N3) NOTIFYs are delivered at least MIN_MS apart, except a trailing one sent while another transaction's
 *    leading NOTIFY was in flight (the documented race), and after close().
 * M3 (N4) a schedule whose commits were all rolled back delivers nothing; never more NOTIFYs than commits.
 * M4 (N5) after close() no timer is left, and every commit so far has been announced.
 *
 * The negative control runs the same model with a store that sends every commit's NOTIFY after it without a
 * window and must break M2. Reproduce: APPHOOK_FC_SEED=<seed> pnpm vitest run <this file>
 */

const SEED = Number(process.env.APPHOOK_FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.APPHOOK_FC_RUNS ?? 100);
const MIN_MS = 10;
const MAX_SEND_MS = 4;

type Step =
  | { t: 'commit'; lagMs: number; leadingCommitMs: number }
  | { t: 'rollback'; decided: boolean }
  | { t: 'advance'; ms: number }
  | { t: 'close' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('commit' as const),
      lagMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 25 })),
      leadingCommitMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 15 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('rollback' as const), decided: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'close' as const }) },
);

interface Delivery {
  at: number;
  version: number;
  trailing: boolean;
  /** A trailing NOTIFY sent while another transaction's leading one was in flight (the race N3 excepts). */
  raced: boolean;
}

interface Commit {
  version: number;
  at: number;
  /** When its after-commit hook ran: the store knows of the commit from then on. */
  learnedAt: number;
}

interface Outcome {
  deliveries: Delivery[];
  commits: Commit[];
  closedAt: number | undefined;
  timersAfterClose: number | undefined;
}

/** Runs `steps` against `NotifyCoalescing` in fake time; returns what a listener heard and what committed. */
async function runModel(steps: Step[], minMs: number): Promise<Outcome> {
  const start = Date.now();
  const now = () => Date.now() - start;
  let committed = 0;
  const deliveries: Delivery[] = [];
  const commits: Commit[] = [];
  let closedAt: number | undefined;
  let timersAfterClose: number | undefined;
  let sendMs = 0;
  let hooksPending = 0;
  let sendsPending = 0;
  // White-box, for the race N3 excepts: whether a leading NOTIFY is in flight.
  const inFlight = () =>
    (coalescing as unknown as { scopes: Map<string, { inFlight: unknown }> }).scopes.get('s')?.inFlight !==
    undefined;
  const coalescing: NotifyCoalescing = new NotifyCoalescing(
    minMs,
    async () => {
      // The statement runs in autocommit: it names the version committed when it runs, delivered when it ends.
      const version = committed;
      const raced = inFlight();
      const ms = sendMs;
      sendMs = (sendMs + 3) % (MAX_SEND_MS + 1);
      sendsPending++;
      await new Promise((resolve) => setTimeout(resolve, ms));
      sendsPending--;
      deliveries.push({ at: now(), version, trailing: true, raced });
      return version;
    },
    { warn() {}, error() {} },
    'the model',
  );

  for (const s of steps) {
    if (s.t === 'advance') {
      await vi.advanceTimersByTimeAsync(s.ms);
      continue;
    }
    if (s.t === 'close') {
      // close() waits for sends in flight, which take fake time: let it pass until close() settles.
      closedAt ??= now();
      let closed = false;
      const closing = coalescing.close().then(() => {
        closed = true;
      });
      for (let i = 0; i < 100 && !closed; i++) await vi.advanceTimersByTimeAsync(1);
      await closing;
      // The model's own after-commit hooks and statements are timers too; the store's must all be gone.
      timersAfterClose = vi.getTimerCount() - hooksPending - sendsPending;
      continue;
    }
    // One transaction of the scope: it bumps (holding the row lock), then decides just before its commit.
    const ticket: NotifyTicket = { leading: true, tracked: true, version: committed + 1 };
    if (s.t === 'rollback' && !s.decided) continue; // rolled back before its commit: no hook ever ran
    coalescing.decide('s', ticket);
    if (s.t === 'rollback') continue; // COMMIT failed: the NOTIFY queued in it is dropped by Postgres
    if (ticket.leading && s.leadingCommitMs > 0) await vi.advanceTimersByTimeAsync(s.leadingCommitMs);
    committed = ticket.version;
    const at = now();
    if (ticket.leading) deliveries.push({ at, version: ticket.version, trailing: false, raced: false });
    // The after-commit hook runs after the event loop's lag; the next transaction may start meanwhile only
    // after this one committed, as the row lock orders them, so the hook is scheduled, not awaited.
    const hook = () => {
      hooksPending--;
      commits.push({ version: ticket.version, at, learnedAt: now() });
      coalescing.committed('s', ticket);
    };
    hooksPending++;
    if (s.lagMs === 0) hook();
    else setTimeout(hook, s.lagMs);
  }
  // Let every hook run and every held NOTIFY go out.
  await vi.advanceTimersByTimeAsync(25 + 3 * minMs + 2 * MAX_SEND_MS);
  return { deliveries, commits, closedAt, timersAfterClose };
}

function check(outcome: Outcome, minMs: number): void {
  const { deliveries, commits } = outcome;
  const slack = 2 * MAX_SEND_MS;
  // M1: announced after its commit, by its version or a newer one, within the window of when the store knew.
  for (const c of commits) {
    const by = deliveries.find((d) => d.version >= c.version && d.at >= c.at);
    expect(by, `commit of version ${c.version} at ${c.at} was never announced`).toBeDefined();
    expect((by as Delivery).at - c.learnedAt).toBeLessThanOrEqual(minMs + slack);
  }
  // M2: delivered at least a window apart, except a trailing NOTIFY of the in-flight race, and after close().
  const sorted = [...deliveries].sort((x, y) => x.at - y.at);
  for (let i = 1; i < sorted.length; i++) {
    const [before, after] = [sorted[i - 1] as Delivery, sorted[i] as Delivery];
    const afterClose = outcome.closedAt !== undefined && after.at >= outcome.closedAt;
    if (afterClose || before.raced || after.raced) continue;
    expect(after.at - before.at, `NOTIFYs at ${before.at} and ${after.at}`).toBeGreaterThanOrEqual(minMs);
  }
  // M3
  if (commits.length === 0) expect(deliveries).toEqual([]);
  expect(deliveries.length).toBeLessThanOrEqual(commits.length);
  // M4
  if (outcome.timersAfterClose !== undefined) expect(outcome.timersAfterClose).toBe(0);
}

describe('NotifyCoalescing model (random schedules, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('announces every commit within the window, spaces NOTIFYs, sends nothing for rollbacks, closes clean', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        vi.clearAllTimers();
        check(await runModel(steps, MIN_MS), MIN_MS);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('negative control: without a window (minNotifyIntervalMs 0) the spacing check fails', async () => {
    const burst: Step[] = Array.from({ length: 5 }, () => ({ t: 'commit', lagMs: 0, leadingCommitMs: 1 }));
    const outcome = await runModel(burst, 0);
    expect(outcome.deliveries).toHaveLength(5);
    expect(() => check(outcome, MIN_MS)).toThrow(/NOTIFYs at/);
  });
});
