/**
 * G13 with real worker processes: each worker announces what it serves; waitForFleet resolves only once every
 * live worker serves the version (checked against each worker's own /__status), names a worker whose rebuild
 * fails with its error, drops a SIGKILLed worker after its TTL and a cleanly stopped one at once.
 */
import { openFleetView } from '@apphook/example-pages-site/fleet';
import { spawnWorker } from '@apphook/example-pages-site/spawn';
import { FleetLagError, type FleetSnapshot, type FleetView } from '@apphook/fleet';
import { requireService } from '@apphook/test-suite/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario } from '../harness/scenario.js';

const SCOPE = 'default';
/**
 * Long enough that a worker starved of CPU for a while (heartbeats every 300 ms) is still listed when the test
 * looks right after killing it; the expiry itself is checked against the last announcement, not the clock.
 */
const TTL_MS = 4000;
/** Cold starts compile the workspace with tsx: slow on a loaded 2-core machine, so allow more than the default. */
const START = { startTimeoutMs: 90_000 };
/** Waits for something that happens: the limit only catches a hang (a loaded 2-core machine is slow). */
const HANG_MS = 60_000;

async function servedVersion(url: string): Promise<number> {
  const status = (await (await fetch(`${url}/__status`)).json()) as { stats: { version: number } };
  return status.stats.version;
}

describe.skipIf(!(await requireService('postgres')))(
  'fleet view with 4 worker processes (SQL table, Postgres)',
  { timeout: 180_000 },
  () => {
    let scenario: Scenario;
    let view: FleetView;
    let closeView: () => Promise<void>;

    beforeAll(async () => {
      scenario = new Scenario({
        db: 'postgres',
        channel: 'notify',
        workers: 4,
        fleet: { heartbeatMs: 300, ttlMs: TTL_MS },
      });
      await scenario.seed();
      // One at a time: four cold starts at once can exceed a start timeout on a loaded 2-core machine.
      for (const i of [1, 2, 3, 4]) {
        // Worker 4's rebuildRoutes fails for version 2 (and only 2).
        const extra = i === 4 ? { failVersions: [2] } : {};
        scenario.workers.push(await spawnWorker(scenario.workerConfig(`worker ${i}`, extra), START));
      }
      ({ view, close: closeView } = await openFleetView(scenario.db, scenario.fleetConfig()));
    }, 420_000);

    afterAll(async () => {
      await closeView?.();
      await scenario?.close();
    });

    it('lists the 4 workers, and waitForFleet resolves after a commit only once every worker serves it', async () => {
      const first = await view.waitForFleet(SCOPE, 0, { timeoutMs: HANG_MS, minMembers: 4 });
      expect(first.members.map((m) => m.name)).toEqual(['worker 1', 'worker 2', 'worker 3', 'worker 4']);
      expect(first.members.every((m) => m.mode === 'push' && m.pid > 0 && m.channelsHealthy)).toBe(true);
      const { version } = await scenario.workers[0]!.change({
        op: 'add',
        path: scenario.newPath(),
        title: 'fleet',
      });
      expect(version).toBe(1);
      const done = await view.waitForFleet(SCOPE, 1, { timeoutMs: HANG_MS, pollMs: 50, minMembers: 4 });
      // When it resolved, every worker really served version 1 or later (its own HTTP status says so).
      const served = await Promise.all(scenario.workers.map((w) => servedVersion(w.url)));
      expect(served.every((v) => v >= 1)).toBe(true);
      expect(done.members.map((m) => m.version)).toEqual([1, 1, 1, 1]);
      expect(done.members.every((m) => typeof m.lastBuildMs === 'number' && m.lastBuildAt! > 0)).toBe(true);
    });

    it('reports a worker whose rebuild fails for the version as lagging, with its error', async () => {
      const { version } = await scenario.workers[0]!.change({
        op: 'add',
        path: scenario.newPath(),
        title: 'fails on 4',
      });
      expect(version).toBe(2);
      // Once the others serve 2 and worker 4 announced its failure, however long that took on a loaded
      // machine, a short wait times out naming exactly worker 4 (its rebuild fails for 2 on every retry).
      await Promise.all(scenario.workers.slice(0, 3).map((w) => w.waitForVersion(2, HANG_MS)));
      await expect
        .poll(
          async () => (await view.fleet(SCOPE)).members.find((m) => m.name === 'worker 4')?.lastError?.code,
          { timeout: HANG_MS },
        )
        .toBe('E_REBUILD');
      const error = await view
        .waitForFleet(SCOPE, 2, { timeoutMs: 1_000, minMembers: 4 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FleetLagError);
      const lag = error as FleetLagError;
      expect(lag.laggards.map((l) => [l.name, l.version])).toEqual([['worker 4', 1]]);
      expect(lag.laggards[0]!.reason).toMatch(
        /E_REBUILD.*fault injection: rebuildRoutes fails for version 2/,
      );
      expect(lag.message).toMatch(/1 of 4 do not: worker 4 serves 1/);
      expect(await servedVersion(scenario.workers[3]!.url)).toBe(1);
      // The next version builds on worker 4 again, and the fleet converges.
      await scenario.workers[0]!.change({ op: 'add', path: scenario.newPath(), title: 'recovers' });
      await view.waitForFleet(SCOPE, 3, { timeoutMs: HANG_MS, minMembers: 4 });
    });

    it('drops a SIGKILLed worker after its TTL, and a cleanly stopped worker at once', {
      timeout: 120_000,
    }, async () => {
      const killed = scenario.workers[2]!;
      killed.kill('SIGKILL');
      await killed.exited;
      // Nobody said goodbye: it is still listed until its entry expires.
      const after = await view.fleet(SCOPE);
      const entry = after.members.find((m) => m.name === 'worker 3');
      expect(entry).toBeDefined();
      // The TTL runs from its last announcement (at or after this one), however late that came on a loaded
      // machine: the entry must not vanish before `seenAt + TTL`. The poll's limit only catches a hang.
      let gone: FleetSnapshot | undefined;
      await expect
        .poll(
          async () => {
            const snapshot = await view.fleet(SCOPE);
            if (!snapshot.members.some((m) => m.name === 'worker 3')) gone ??= snapshot;
            return snapshot.members.map((m) => m.name);
          },
          { timeout: HANG_MS, interval: 100 },
        )
        .toEqual(['worker 1', 'worker 2', 'worker 4']);
      expect(gone!.at).toBeGreaterThanOrEqual(entry!.seenAt + TTL_MS);
      await scenario.workers[1]!.stop();
      expect((await view.fleet(SCOPE)).members.map((m) => m.name)).toEqual(['worker 1', 'worker 4']);
      await view.waitForFleet(SCOPE, 3, { timeoutMs: HANG_MS, minMembers: 2 });
    });
  },
);

describe.skipIf(!(await requireService('redis')))(
  'fleet view through Redis (SQLite store, Redis notifier)',
  () => {
    it('two workers announce through Redis keys, converge on a commit, and leave at once on a clean stop', async () => {
      const scenario = new Scenario({
        db: 'sqlite',
        channel: 'redis',
        workers: 2,
        fleet: { heartbeatMs: 300 },
      });
      const fleet = await (async () => {
        await scenario.seed();
        for (const i of [1, 2])
          scenario.workers.push(await spawnWorker(scenario.workerConfig(`worker ${i}`), START));
        return openFleetView(scenario.db, scenario.fleetConfig(), scenario.workerConfig('x').redisUrl);
      })();
      try {
        const { version } = await scenario.workers[1]!.change({
          op: 'add',
          path: scenario.newPath(),
          title: 'r',
        });
        const done = await fleet.view.waitForFleet(SCOPE, version, { timeoutMs: HANG_MS, minMembers: 2 });
        expect(done.members.map((m) => [m.name, m.version])).toEqual([
          ['worker 1', version],
          ['worker 2', version],
        ]);
        await scenario.workers[0]!.stop();
        expect((await fleet.view.fleet(SCOPE)).members.map((m) => m.name)).toEqual(['worker 2']);
      } finally {
        await fleet.close();
        await scenario.close();
      }
    }, 240_000);
  },
);
