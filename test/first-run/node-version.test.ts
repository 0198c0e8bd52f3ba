/**
 * A first run on a machine whose Node is too old (these machines ship Node 20): the README's two commands stop
 * at once with the required version and how to get it, instead of engine warnings and a segmentation fault
 * from better-sqlite3. Runs with the oldest `node` found on PATH (`which -a node`); skips with the reason when
 * every Node on this machine is new enough.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeExit, repoRoot, run } from '../examples/processes.js';

const required = '22.17.0';
const older = (version: string) => {
  const [a = 0, b = 0] = version.replace(/^v/, '').split('.').map(Number);
  return a < 22 || (a === 22 && b < 17);
};

/** The oldest Node on PATH that is older than required, if any. */
function oldNode(): string | undefined {
  const candidates = execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const node of [...candidates, '/usr/bin/node']) {
    if (!existsSync(node)) continue;
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    if (older(version)) return node;
  }
  return undefined;
}

const node = oldNode();
if (!node) console.log(`[first-run] skipped: no Node older than ${required} on this machine`);

// A PATH on which `node` is the old one and `pnpm` is the workspace's pnpm, run by that old node.
const work = mkdtempSync(join(tmpdir(), 'apphook-old-node-'));
const bin = join(work, 'bin');
mkdirSync(bin);
if (node) {
  symlinkSync(node, join(bin, 'node'));
  // pnpm from npm is a script (`#!/usr/bin/env node`): on this PATH the old node runs it, as on such a machine.
  const pnpm = realpathSync(execFileSync('which', ['pnpm'], { encoding: 'utf8' }).trim());
  symlinkSync(pnpm, join(bin, 'pnpm'));
}
const env = { PATH: `${bin}:/usr/bin:/bin`, CI: process.env.CI ?? '' };
// Asynchronous and with its own limit: the installed projects hold hundreds of thousands of files, and a
// synchronous removal on a busy machine outlasted the default hook timeout (seen in CI, 60 s).
afterAll(() => rm(work, { recursive: true, force: true, maxRetries: 3 }), 300_000);

const expectMessage = (output: string) => {
  expect(output).toContain(`apphook needs Node >=${required}`);
  expect(output).toContain('npm install --prefix .tools node@24 pnpm@10');
  expect(output).not.toMatch(/segmentation fault|core dumped/i);
};

describe.skipIf(!node)('with a Node older than required', () => {
  it('pnpm demo and pnpm test stop at once with the required version and how to get it', async () => {
    for (const command of ['demo', 'test']) {
      const exit = await run('pnpm', [command], { cwd: repoRoot, env, timeoutMs: 60_000 });
      expect(exit.code, describeExit(`pnpm ${command}`, exit)).toBe(1);
      expectMessage(exit.output);
      // Nothing after the check ran: no lint, no test run, no demo worker.
      expect(exit.output).not.toMatch(/Checked \d+ files|Test Files|worker \d/);
    }
  });

  it('pnpm install stops before installing anything', async () => {
    // A fresh checkout's root: the check runs before pnpm resolves a single dependency.
    const checkout = join(work, 'checkout');
    mkdirSync(checkout);
    for (const file of ['package.json', 'pnpm-workspace.yaml', 'scripts']) {
      cpSync(join(repoRoot, file), join(checkout, file), { recursive: true });
    }
    const exit = await run('pnpm', ['install', '--offline'], { cwd: checkout, env, timeoutMs: 60_000 });
    expect(exit.code, describeExit('pnpm install', exit)).not.toBe(0);
    expectMessage(exit.output);
    expect(existsSync(join(checkout, 'node_modules', '.pnpm')), 'nothing was installed').toBe(false);
  });
});
