/**
 * `pnpm demo`, the README's first command: every worker converges on every step, the run ends by itself and
 * leaves no temp folder; with `--keep`, Ctrl-C stops everything cleanly.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/servers.js';
import { describeExit, repoRoot, run, start, tsxNodeArgs } from './processes.js';

const demoScript = join(repoRoot, 'examples/pages-site/src/demo.ts');
const steps = [
  'add page /pricing',
  'rename /about to /about-us',
  'move blog /news to /journal',
  'remove /blog',
  'a burst of 5 changes',
];

/** The SQLite file the demo announces in its first line: `sqlite (/tmp/apphook-demo-XXXX/site.sqlite)`. */
function tempFolder(output: string): string {
  const file = output.match(/sqlite \((\S+site\.sqlite)\)/)?.[1];
  expect(file, `the demo did not print its database file:\n${output}`).toBeDefined();
  return dirname(file!);
}

describe('pnpm demo', () => {
  it('shows every worker converging on every step, then cleans up', { timeout: 120_000 }, async () => {
    const exit = await run('pnpm', ['demo', '--workers', '2'], { timeoutMs: 90_000 });
    const { output } = exit;
    expect(exit.code, describeExit('pnpm demo --workers 2', exit)).toBe(0);
    expect(output, output).not.toContain('✗');
    expect(output).not.toMatch(/^\s+at /m); // no stack trace
    // Each step: one ✓ line per worker, on the step's version.
    const sections = output.split('▸ ').slice(1);
    expect(sections.map((s) => s.split(' (through')[0])).toEqual(steps);
    for (const section of sections) {
      const lines = section.split('\n').filter((line) => /✓ worker \d/.test(line));
      expect(
        lines.map((line) => line.match(/✓ worker (\d)/)?.[1]),
        section,
      ).toEqual(['1', '2']);
      const versions = new Set(lines.map((line) => line.match(/serves version (\d+)/)?.[1]));
      expect(versions.size, section).toBe(1);
    }
    expect(output).toContain('Summary');
    expect(output).toMatch(/reloader errors: 0/);
    expect(existsSync(tempFolder(output)), 'the temp folder is removed').toBe(false);
  });

  it('stops cleanly on Ctrl-C when --keep leaves it running', { timeout: 120_000 }, async () => {
    const port = await freePort();
    // node itself rather than pnpm: pnpm reports a script that ended on SIGINT as failed, whatever the demo does.
    const demo = start(
      process.execPath,
      [...tsxNodeArgs, demoScript, '--keep', '--port', String(port), '--workers', '2'],
      { cwd: join(repoRoot, 'examples/pages-site'), timeoutMs: 90_000 },
    );
    await demo.waitFor(/keeps running/, 80_000);
    const home = await fetch(`http://127.0.0.1:${port}/`);
    expect(home.status).toBe(200);
    await home.arrayBuffer();
    demo.interrupt();
    const exit = await demo.exited;
    expect(exit.code, describeExit('the demo after Ctrl-C', exit)).toBe(0);
    expect(exit.output).toContain('stopping workers');
    expect(exit.output).not.toMatch(/^\s+at /m);
    expect(exit.output).not.toMatch(/Error/);
    expect(existsSync(tempFolder(exit.output)), 'the temp folder is removed').toBe(false);
  });
});
