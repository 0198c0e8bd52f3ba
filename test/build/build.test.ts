/**
 * `pnpm build` emits `dist/` with declarations for every published package, and what it emits loads in plain
 * Node without the source condition: the packages can be published as built.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildPackages } from '../consumer/pack.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const packages = readdirSync(join(root, 'packages')).filter((dir) => {
  const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as {
    private?: boolean;
  };
  return !manifest.private;
});

describe('pnpm build', () => {
  it('emits dist with declarations for every package, and the output loads without the source condition', async () => {
    // Shared with the consumer tests, which pack what it builds: one build per run, never two at once.
    await buildPackages();
    for (const dir of packages) {
      expect(existsSync(join(root, 'packages', dir, 'dist', 'index.js')), `${dir}/dist/index.js`).toBe(true);
      expect(existsSync(join(root, 'packages', dir, 'dist', 'index.d.ts')), `${dir}/dist/index.d.ts`).toBe(
        true,
      );
    }
    // A plain node process (no @apphook/source condition) resolves the packages to dist/.
    const probe = packages
      .filter((dir) => dir !== 'nestjs') // needs reflect-metadata loaded first, like any Nest app
      .map((dir) => `await import(${JSON.stringify(`@apphook/${dir}`)});`)
      .join('');
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', `${probe} console.log('loaded');`],
      { cwd: join(root, 'test') },
    );
    expect(stdout.trim()).toBe('loaded');
    expect(pathToFileURL(root).href).toMatch(/^file:/);
  }, 300_000);
});
