/**
 * Scenarios 1 and 2: django CMS's race. The writer bumps and changes a page in one transaction and holds it open
 * for 200 ms before committing, under load. No worker may ever serve routes that differ from what was committed
 * at the version it serves; all converge after each commit. The negative control does the same with django CMS's
 * order of operations (token bumped in its own autocommit before the change commits) and must be caught.
 */
import { requireService } from '@apphook/test-suite/services';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildViolations, rebuildCounts } from '../harness/checks.js';
import { startLoad } from '../harness/load.js';
import { type Channel, Scenario } from '../harness/scenario.js';

// Three worker processes per test, started while other test files run beside this one: room for a busy
// machine. The limit only catches a hang: what each test checks does not change with it.
vi.setConfig({ testTimeout: 90_000 });

const haveDatabases = {
  postgres: await requireService('postgres'),
  mysql: await requireService('mysql'),
  redis: await requireService('redis'),
};

const matrix: Array<{ db: 'sqlite' | 'postgres' | 'mysql'; channel: Channel; ok: boolean }> = [
  { db: 'sqlite', channel: 'poll', ok: true },
  { db: 'postgres', channel: 'notify', ok: haveDatabases.postgres },
  { db: 'mysql', channel: 'poll', ok: haveDatabases.mysql },
  { db: 'mysql', channel: 'redis', ok: haveDatabases.mysql && haveDatabases.redis },
  { db: 'sqlite', channel: 'redis', ok: haveDatabases.redis },
];

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.close();
  scenario = undefined;
});

describe('the django CMS race, fixed (scenario 1)', () => {
  for (const { db, channel, ok } of matrix) {
    it.skipIf(!ok)(
      `${db} + ${channel}: no worker ever serves routes that were not committed at its version`,
      async () => {
        const s = new Scenario({ db, channel, workers: 3 });
        scenario = s;
        await s.seed();
        await s.startWorkers();
        const [writer] = s.workers;
        const load = startLoad(
          () => s.workers,
          () => s.paths(),
          { concurrency: 6 },
        );
        let last = 0;
        let added = '';
        for (let i = 0; i < 8; i++) {
          const remove = i % 4 === 3;
          if (!remove) added = s.newPath();
          const change = remove
            ? { op: 'remove' as const, path: added }
            : { op: 'add' as const, path: added, title: `Page ${i}` };
          const result = await writer!.change(change, { holdMs: 200 });
          s.history.record(result.version, result.hash, result.paths);
          last = result.version;
          // The writer serves its own change when its transaction resolved (read-your-writes in-process).
          expect(
            writer!.latest()?.version,
            'the writer serves its commit when the transaction resolves',
          ).toBe(last);
        }
        await s.waitAll(last);
        const report = await load.stop();
        const violations = buildViolations(s.workers, s.history);
        expect(violations, violations.join('\n')).toEqual([]);
        expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 3))).toEqual([]);
        expect(report.networkErrors).toEqual({});
        // Every response came from a build the worker recorded (and which was checked above).
        for (const seen of report.served) {
          const worker = s.workers.find((w) => w.name === seen.worker)!;
          expect(
            worker.builds.some((b) => b.version === seen.version && b.hash === seen.hash),
            `${seen.worker} answered with version ${seen.version} / ${seen.hash}, which it never built`,
          ).toBe(true);
        }
        expect(report.requests).toBeGreaterThan(50);
        console.log(
          `[e2e] ${db}+${channel} (${s.workers.map((w) => w.framework).join(', ')}): ${report.requests} requests, ${s.history.last} commits, rebuilds ${rebuildCounts(s.workers)}`,
        );
      },
    );
  }
});

describe('negative control: the naive order of operations is caught (scenario 2)', () => {
  it('a token bumped in its own autocommit before the change commits makes workers serve stale routes', async () => {
    const s = new Scenario({ db: 'sqlite', channel: 'poll', workers: 3, intervalMs: 40 });
    scenario = s;
    await s.seed();
    await s.startWorkers();
    const [writer] = s.workers;
    const load = startLoad(
      () => s.workers,
      () => s.paths(),
      { concurrency: 4 },
    );
    let last = 0;
    for (let i = 0; i < 4; i++) {
      const result = await writer!.change(
        { op: 'add', path: s.newPath(), title: `Page ${i}` },
        {
          holdMs: 300,
          naive: true,
        },
      );
      s.history.record(result.version, result.hash, result.paths);
      last = result.version;
    }
    await s.waitAll(last);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await load.stop();
    const violations = buildViolations(s.workers, s.history);
    console.log(`[e2e] negative control caught ${violations.length} stale builds, e.g. ${violations[0]}`);
    expect(violations.length).toBeGreaterThan(0);
    // ... and they stay stale: the version did not move after the commit, so nobody rebuilds.
    const final = s.history.get(last)!;
    const stale = s.workers.filter((w) => w.latest()?.hash !== final.hash);
    expect(stale.length).toBeGreaterThan(0);
  });
});
