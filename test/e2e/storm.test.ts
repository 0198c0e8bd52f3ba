/**
 * Scenario 4: a storm. Four writer processes commit 1,000 changes as fast as they can; every worker ends on the
 * final version with far fewer rebuilds than commits (G8). Again with `leadingRebuild: false` (rebuild-pacing.ts
 * P8): no worker rebuilds more than about once per `maxRebuildIntervalMs` of the storm, plus the trailing rebuild.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
  for (const leadingRebuild of [true, false]) {
    it(`${WRITERS} writer processes commit ${COMMITS} changes; every worker ends on the last with far fewer rebuilds (leadingRebuild: ${leadingRebuild})`, async () => {
      const s = new Scenario({
        db: 'postgres',
        channel: 'notify',
        workers: 3,
        ...(leadingRebuild ? {} : { reloaderOptions: { leadingRebuild } }),
      });
      scenario = s;
      await s.seed();
      const watchers = await s.startWorkers(3);
      const writers = await Promise.all(
        Array.from({ length: WRITERS }, (_, w) => startWriter(s, `/w${w}-`, COMMITS / WRITERS)),
      );
      const started = performance.now();
      for (const writer of writers) writer.go();
      await Promise.all(writers.map((writer) => writer.done));
      const committedMs = performance.now() - started;
      const lastCommitAt = performance.now();
      await s.waitAll(COMMITS, 30_000, watchers);
      const convergeMs = performance.now() - lastCommitAt;
      console.log(
        `[e2e] storm (leadingRebuild: ${leadingRebuild}): ${COMMITS} commits by ${WRITERS} processes in ${committedMs.toFixed(0)} ms; all watchers on ${COMMITS} ${convergeMs.toFixed(0)} ms after the last commit; rebuilds ${rebuildCounts(watchers)}`,
      );
      // Without the leading edge: at most one rebuild per maxRebuildIntervalMs (1 s) of storm, the trailing one,
      // and one for the seed's version heard before the storm (the first build is the start's).
      const bound = leadingRebuild ? COMMITS / 4 : Math.floor(committedMs / 1000) + 3;
      for (const watcher of watchers) {
        expect(watcher.latest()?.version).toBe(COMMITS);
        expect(
          watcher.builds.length,
          `${watcher.name} rebuilt ${watcher.builds.length} times`,
        ).toBeLessThanOrEqual(bound);
      }
      expect(buildViolations(watchers, s.history)).toEqual([]);
    }, 120_000);
  }
});

const writerPath = fileURLToPath(new URL('../harness/storm-writer.ts', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A writer-only process: it commits `count` changes as fast as it can once told to go. */
async function startWriter(s: Scenario, prefix: string, count: number) {
  const child = fork(writerPath, [], {
    execArgv: ['--import', tsxLoader, '--conditions=@apphook/source'],
    env: { ...process.env, APPHOOK_STORM: JSON.stringify({ db: s.db, scope: 'default', prefix, count }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`storm writer exited with ${code}`)));
  });
  const done = new Promise<{ last: number; ms: number }>((resolve, reject) => {
    child.on('message', (message: { type: string; last: number; ms: number }) => {
      if (message.type === 'done') resolve(message);
    });
    child.once('exit', (code) => reject(new Error(`storm writer exited with ${code} before it was done`)));
  });
  return { go: () => child.send({ type: 'go' }), done };
}
