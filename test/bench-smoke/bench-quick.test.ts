/**
 * `pnpm bench --quick` keeps working: the whole benchmark runs end to end on a small budget and writes its report
 * (to a temporary folder: the committed docs/benchmarks.md comes from a full run). A missed target is reported, not
 * a failure; only breakage fails.
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
const ready = (await requireService('postgres')) && (await requireService('redis'));

describe.skipIf(!ready)('pnpm bench --quick', () => {
  it('runs every benchmark end to end and writes the report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'apphook-bench-'));
    try {
      const { stdout } = await run('pnpm', ['bench', '--quick', '--out', out], {
        cwd: root,
        timeout: 630_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      expect(stdout).toMatch(/wrote .*benchmarks\.md/);
      expect(existsSync(join(out, 'benchmarks.json'))).toBe(true);
      const report = readFileSync(join(out, 'benchmarks.md'), 'utf8');
      for (const section of [
        'Hot-path overhead',
        'What apphook adds to one request',
        'Fan-out and tenants',
        'Targets',
      ])
        expect(report).toContain(section);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 660_000);
});
