/**
 * `pnpm bench --quick` keeps working: the benchmark runs end to end on a small budget and writes its report (to a
 * temporary folder: the committed docs/benchmarks.md comes from a full run). A missed target is reported, not a
 * failure; only breakage fails (the bench exits 1, which rejects here).
 *
 * The sections run in separate test files (`--only`), so that vitest runs them side by side with each other and
 * with the rest of the suite instead of one 2-minute file at the end of a run. Each section is measured, rendered
 * and checked against its targets exactly as in a whole run; together the files run every section.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireService } from '@apphook/test-suite/services';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** The bench's sections (test/bench/run.ts `--only`) and the report headings each one writes. */
export type Section = 'hot-path' | 'micro' | 'channels' | 'fan-out' | 'scale';
const headings: Record<Section, string[]> = {
  'hot-path': ['## 1. Hot-path overhead'],
  micro: ['## 1b. What apphook adds to one request'],
  channels: ['## 2. Propagation', '## 3. Storm', '## 4. Idle cost'],
  'fan-out': ['## 6. Fan-out and tenants'],
  scale: ['## 5. Scale'],
};

/** One test: `pnpm bench --quick --only <sections>` exits 0 and its report holds each section and the targets. */
export async function describeQuickBench(sections: Section[]): Promise<void> {
  const ready = (await requireService('postgres')) && (await requireService('redis'));
  describe.skipIf(!ready)(`pnpm bench --quick --only ${sections.join(',')}`, () => {
    it('runs end to end and writes the report', async () => {
      const out = mkdtempSync(join(tmpdir(), 'apphook-bench-'));
      try {
        const { stdout } = await run(
          'pnpm',
          ['bench', '--quick', '--only', sections.join(','), '--out', out],
          {
            cwd: root,
            timeout: 630_000,
            maxBuffer: 16 * 1024 * 1024,
          },
        );
        expect(stdout).toMatch(/wrote .*benchmarks\.md/);
        expect(existsSync(join(out, 'benchmarks.json'))).toBe(true);
        const report = readFileSync(join(out, 'benchmarks.md'), 'utf8');
        for (const heading of ['## Targets', ...sections.flatMap((s) => headings[s])])
          expect(report).toContain(heading);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 660_000);
  });
}
