/**
 * Test files in the order that finishes a run soonest: the long files first, then vitest's own order (longest
 * first by the results cache of an earlier run, else larger files first).
 *
 * Why a list: CI runs from a fresh clone, so there is no results cache, and vitest's fallback (file size, and
 * each project's files together) would start the 2-minute benchmark smoke test or the package installs last,
 * with the other workers idle behind them. A file missing from the list is only scheduled later, never skipped.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Longest first. Paths relative to the repository root. */
export const slowFiles: readonly string[] = [
  // Measured in a serial run (its share of the run): the docs build 18 %, the commit races 12 % and 8 %, the
  // consumer installs 8 % and 4 %, code blocks 5 %, the examples 5 %; bench --quick about 110 s before its split.
  // The three bench files are CPU-bound: one of them starts with the first four files, the others after.
  'test/docs/docs-build.test.ts',
  'test/bench-smoke/hot-path.test.ts',
  'test/e2e/commit-race.test.ts',
  'test/consumer/consumer.test.ts',
  'test/bench-smoke/channels.test.ts',
  'packages/mikro-orm6-suite/test/commit-race.test.ts',
  'test/bench-smoke/micro-fan-out-scale.test.ts',
  'test/docs/code-blocks.test.ts',
  'test/examples/examples.test.ts',
  'test/consumer/mikro-orm6.test.ts',
  'test/examples/demo.test.ts',
  'test/e2e/fleet.test.ts',
  'test/e2e/fault-campaign.test.ts',
  'test/e2e/storm.test.ts',
  'packages/sqlite/test/processes.test.ts',
  'packages/postgresql/test/store-suite.test.ts',
  'packages/postgresql/test/listen-model.test.ts',
];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const byVitest = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const root = spec.project.config.root;
      const index = slowFiles.indexOf(spec.moduleId.slice(root.length + 1));
      return index === -1 ? slowFiles.length : index;
    };
    // Array.prototype.sort is stable: files outside the list keep vitest's order.
    return byVitest.sort((a, b) => rank(a) - rank(b));
  }
}
