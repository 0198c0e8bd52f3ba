/**
 * Scenario 4: a storm. Four writer processes commit 1,000 changes as fast as they can; every worker ends on the
 * final version with far fewer rebuilds than commits (G8).
 */
import { requireService } from '@apphook/test-suite/services';
import { afterEach, describe, expect, it } from 'vitest';
import { buildViolations, rebuildCounts } from '../harness/checks.js';
import { Scenario } from '../harness/scenario.js';

const ready = await requireService('postgres');
const WRITERS = 4;
const COMMITS = 1000;

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.close();
});

describe.skipIf(!ready)('storm (scenario 4)', () => {
  it(`${WRITERS} writer processes commit ${COMMITS} changes; every worker ends on the last with far fewer rebuilds`, async () => {
    const s = new Scenario({ db: 'postgres', channel: 'notify', workers: 3 });
    scenario = s;
    await s.seed();
    const watchers = await s.startWorkers(3);
    const writers = await s.startWorkers(WRITERS);
    const started = performance.now();
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < COMMITS / WRITERS; i++) {
          await writer.change({ op: 'add', path: `/w${w}-${i}`, title: `w${w} ${i}` });
        }
      }),
    );
    const committedMs = performance.now() - started;
    const lastCommitAt = performance.now();
    await s.waitAll(COMMITS, 30_000, watchers);
    const convergeMs = performance.now() - lastCommitAt;
    console.log(
      `[e2e] storm: ${COMMITS} commits by ${WRITERS} processes in ${committedMs.toFixed(0)} ms; all watchers on ${COMMITS} ${convergeMs.toFixed(0)} ms after the last commit; rebuilds ${rebuildCounts(watchers)}`,
    );
    for (const watcher of watchers) {
      expect(watcher.latest()?.version).toBe(COMMITS);
      expect(watcher.builds.length, `${watcher.name} rebuilt ${watcher.builds.length} times`).toBeLessThan(COMMITS / 4);
    }
    expect(buildViolations(watchers, s.history)).toEqual([]);
  }, 120_000);
});
