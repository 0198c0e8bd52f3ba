/**
 * Test files in the order that finishes a run soonest: the long files first, then vitest's own order (longest
 * first by the results cache of an earlier run, else larger files first).
 *
 * Why a list: CI runs from a fresh clone, so there is no results cache, and vitest's fallback (file size, and
 * each project's files together) would start the 2-minute benchmark smoke test or the package installs last,
 * with the other workers idle behind them. A file missing from the list is only scheduled later, never skipped.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest first, with their share of a serial run (a quiet 2-core machine, vitest 5, before this ordering).
 * Paths relative to the repository root; the project is part of the key where one file runs in both.
 */
export const slowFiles: readonly string[] = [
  'test/bench-smoke/hot-path.test.ts',
  'test/bench-smoke/channels.test.ts',
  'test/bench-smoke/micro-fan-out-scale.test.ts',
  'test/consumer/mikro-orm6.test.ts',
  'test/consumer/consumer.test.ts',
  'test/docs/docs-build.test.ts',
  'packages/mikro-orm6-suite/test/commit-race.test.ts',
  'test/e2e/commit-race.test.ts',
  'test/docs/code-blocks.test.ts',
  'test/build/build.test.ts',
  'test/examples/admin-page.test.ts',
  'test/examples/demo.test.ts',
  'test/e2e/fault-campaign.test.ts',
  'test/e2e/fleet.test.ts',
  'test/e2e/storm.test.ts',
  'test/e2e/tenants.test.ts',
  'test/e2e/apphooks-job-worker.test.ts',
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
