/**
 * Scenario 3: several hundred commits while everything that can fail does: the run's own Redis stopped and
 * restarted and its subscribers killed, the Postgres LISTEN backend terminated, rebuildRoutes throwing for some
 * versions, a worker killed and restarted, and the database (a throwaway cluster of the test's own) unreachable
 * for a few seconds. At the end every worker serves the last committed version, nothing was lost, and no
 * response was a 5xx.
 */

import { type Site, startSite } from '@apphook/example-pages-site/site';
import { requireService } from '@apphook/test-suite/services';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { buildViolations, rebuildCounts } from '../harness/checks.js';
import { startLoad } from '../harness/load.js';
import { Scenario } from '../harness/scenario.js';
import { OwnPostgres, OwnRedis } from '../harness/servers.js';

const ready = (await requireService('redis')) && OwnPostgres.available();
const FAIL_VERSIONS = [40, 41, 42, 150];
const COMMITS = 300;

const cleanups: Array<[string, () => Promise<unknown>]> = [];
afterAll(async () => {
  for (const [name, cleanup] of cleanups.reverse()) {
    const timer = setTimeout(() => console.warn(`[e2e] cleanup '${name}' is taking long`), 5_000);
    await cleanup().catch(() => {});
    clearTimeout(timer);
  }
}, 120_000);

describe.skipIf(!ready)('fault campaign (scenario 3)', () => {
  it(`${COMMITS} commits through Redis and NOTIFY outages, failing rebuilds, a killed worker and a database restart`, async () => {
    const redis = await OwnRedis.start();
    cleanups.push(['redis', () => redis.stop()]);
    const database = await OwnPostgres.start();
    cleanups.push(['postgres cluster', () => database.destroy()]);

    const s = new Scenario({
      db: 'postgres',
      channel: 'redis',
      url: database.url,
      redisUrl: redis.url,
      workers: 3,
      intervalMs: 200,
      failVersions: FAIL_VERSIONS,
    });
    cleanups.push(['workers', () => s.close()]);
    await s.seed();
    await s.startWorkers();
    // The writer is an in-process site on the same database and channels; it is not under load.
    const writer: Site = await startSite({ ...s.workerConfig('writer'), failVersions: [], logger: false });
    cleanups.push(['writer', () => writer.close()]);

    const alive = new Set(s.workers);
    const load = startLoad(
      () => [...alive],
      () => s.paths(),
      { concurrency: 6, maxMs: 240_000 },
    );
    const log: string[] = [];
    const faults: Record<number, () => Promise<void>> = {
      30: async () => {
        log.push('redis stopped');
        await redis.stop();
        setTimeout(() => {
          void redis.start().then(() => log.push('redis restarted'));
        }, 1500);
      },
      90: async () => {
        const admin = new Redis(redis.url);
        await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
        await admin.quit();
        log.push('redis subscribers killed');
      },
      120: async () => {
        const admin = new pg.Client({ connectionString: database.url });
        await admin.connect();
        const { rowCount } = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'apphook-listen:%'",
        );
        await admin.end();
        log.push(`LISTEN backends terminated: ${rowCount}`);
      },
      170: async () => {
        const victim = s.workers[2]!;
        alive.delete(victim);
        victim.kill('SIGKILL');
        await victim.exited;
        log.push(`${victim.name} killed`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const [fresh] = await s.startWorkers(1);
        alive.add(fresh!);
        log.push(`${fresh!.name} started`);
      },
      220: async () => {
        await database.stop();
        log.push('database stopped');
        // Commits go on failing (and retrying) while it is down.
        setTimeout(() => {
          void database.start().then(() => log.push('database restarted'));
        }, 3000);
      },
    };

    let last = 0;
    let failedCommits = 0;
    for (let i = 1; i <= COMMITS; i++) {
      await faults[i]?.();
      const path = s.newPath();
      for (;;) {
        try {
          const result = await writer.change({ op: 'add', path, title: `Page ${i}` });
          s.history.record(result.version, result.hash, result.paths);
          last = result.version;
          break;
        } catch {
          failedCommits++; // rolled back (database down): nothing was committed, try again
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      // Let the workers settle on the versions whose rebuild fails, so they really try (and fail) them.
      await new Promise((resolve) => setTimeout(resolve, FAIL_VERSIONS.includes(last) ? 300 : 5));
    }

    const everyone = s.workers.filter((w) => alive.has(w));
    await s.waitAll(last, 30_000, everyone);
    const report = await load.stop();
    console.log(
      `[e2e] fault campaign: ${last} commits (${failedCommits} retried while the database was down), ${report.requests} requests; ${log.join(' · ')}; rebuilds ${rebuildCounts(everyone)}`,
    );

    expect(last).toBe(COMMITS);
    expect(failedCommits, 'commits were attempted while the database was down').toBeGreaterThan(0);
    for (const worker of everyone) expect(worker.latest()?.version, worker.name).toBe(last);
    const violations = buildViolations(s.workers, s.history);
    expect(violations, violations.join('\n')).toEqual([]);
    expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 3))).toEqual([]);
    // Connection errors only from the worker killed on purpose.
    const unexpected = Object.keys(report.networkErrors).filter((name) => name !== 'worker 3');
    expect(unexpected).toEqual([]);
    // The failing versions really failed somewhere, and the workers went on past them.
    const rebuildErrors = s.workers.flatMap((w) => w.errors.filter((e) => e.phase === 'rebuild'));
    expect(rebuildErrors.length).toBeGreaterThan(0);
  }, 240_000);
});
