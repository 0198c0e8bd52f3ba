/**
 * What a user gets from the registry: every public package packed as `pnpm publish` would pack it, checked for
 * what a published package needs, then installed outside the workspace with plain npm and with pnpm next to a
 * user's pinned MikroORM 7.2.1. A small app (test/consumer/app) type-checks under strict settings with
 * `skipLibCheck: false`, and two processes of it share an SQLite file: one changes a page in a transaction,
 * the other serves the change.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeExit, start } from '../examples/processes.js';
import {
  installWithNpm,
  installWithPnpm,
  type ProjectOptions,
  packAll,
  publicPackages,
  root,
  run,
  tarballFile,
  tarballFiles,
} from './pack.js';

/** What a user of MikroORM 7 pins (the registry's newest patch of a driver may need an unserved @mikro-orm/sql). */
const PINNED = {
  '@mikro-orm/core': '7.2.1',
  '@mikro-orm/sqlite': '7.2.1',
  '@mikro-orm/postgresql': '7.2.1',
  express: '^5.1.0',
};
/** A TypeScript user of Express and Koa installs their types (Koa's own router types need @types/koa too). */
const DEV = { '@types/node': '^24.0.0', '@types/express': '^5.0.0', '@types/koa': '^3.0.0' };
const appDir = join(root, 'test', 'consumer', 'app');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const work = mkdtempSync(join(tmpdir(), 'apphook-consumer-'));
let tarballs = new Map<string, string>();

beforeAll(async () => {
  tarballs = await packAll(join(work, 'tarballs'));
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed packages', () => {
  it('hold no workspace:/catalog: range, ship LICENSE, README with absolute links, metadata, and exports into dist', async () => {
    const problems: string[] = [];
    for (const pkg of publicPackages()) {
      const tarball = tarballs.get(pkg.name) as string;
      const files = await tarballFiles(tarball);
      const manifest = JSON.parse(await tarballFile(tarball, 'package.json')) as Record<string, unknown>;
      const say = (what: string) => problems.push(`${pkg.name}: ${what}`);
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries((manifest[field] ?? {}) as Record<string, string>)) {
          if (/^(workspace|catalog):/.test(range)) say(`${field}.${dep} is "${range}"`);
        }
      }
      if (!files.includes('LICENSE')) say('no LICENSE in the tarball');
      if (!files.includes('README.md')) say('no README.md in the tarball');
      else {
        const readme = await tarballFile(tarball, 'README.md');
        for (const [, target] of readme.matchAll(/\]\(([^)\s]+)[^)]*\)|href="([^"]+)"/g)) {
          if (target && !/^(https?:|mailto:|#)/.test(target))
            say(`README links to "${target}" (not absolute)`);
        }
      }
      const repository = manifest.repository as { url?: string; directory?: string } | undefined;
      if (repository?.directory !== `packages/${pkg.dir}`) say('repository.directory is not its folder');
      for (const field of ['homepage', 'bugs', 'keywords', 'license', 'engines', 'files']) {
        if (manifest[field] === undefined) say(`no ${field}`);
      }
      if ((manifest.publishConfig as { access?: string })?.access !== 'public') say('publishConfig.access');
      // The targets of exports, main, types and bin (their values; subpath keys such as "./redis" are not files).
      // A bin is a committed file under bin/ that imports dist/ (a bin into dist/ breaks the workspace's install).
      const targets: string[] = [];
      const collect = (value: unknown): void => {
        if (typeof value === 'string') targets.push(value);
        else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v);
      };
      collect([manifest.exports, manifest.main, manifest.types, manifest.bin]);
      for (const path of targets) {
        if (path?.startsWith('./src/')) continue; // the workspace's source condition, shipped alongside
        if (!/^\.\/(dist|bin)\//.test(path)) say(`exports ${path}, not a file in dist or bin`);
        else if (!files.includes(path.slice(2))) say(`exports ${path}, missing from the tarball`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe.each([
  ['npm', installWithNpm],
  ['pnpm', installWithPnpm],
] as const)('installed with %s next to pinned MikroORM 7.2.1', (manager, install) => {
  const dir = join(work, manager);

  it('type-checks a strict app against every package and runs two processes on one SQLite file', async () => {
    const project: ProjectOptions = {
      dir,
      dependencies: {
        ...Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`])),
        ...PINNED,
      },
      devDependencies: DEV,
    };
    await install(project);
    cpSync(join(appDir, 'src'), join(dir, 'src'), { recursive: true });
    cpSync(join(appDir, 'tsconfig.json'), join(dir, 'tsconfig.json'));

    // One tsc run emits dist/ and reports. skipLibCheck is off: errors in apphook's declarations or in the
    // app fail the test; errors inside other libraries' declarations are printed, not ours to fix.
    const output = await run(process.execPath, [tsc, '-p', '.'], { cwd: dir }).catch(
      (error: Error) => error.message,
    );
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
    const foreign = errors.filter(
      (line) => /node_modules\//.test(line) && !/node_modules\/@apphook\//.test(line),
    );
    if (foreign.length > 0)
      console.log(`[consumer:${manager}] errors in other libraries' types:\n${foreign.join('\n')}`);
    expect(errors.filter((line) => !foreign.includes(line))).toEqual([]);

    const db = join(dir, 'pages.sqlite');
    const server = start(process.execPath, ['dist/server.js', db], { cwd: dir, timeoutMs: 120_000 });
    try {
      const [, port] = await server.waitFor(/listening (\d+)/, 60_000);
      const get = async (path: string) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: response.status, body: await response.text() };
      };
      expect((await get('/hello')).status).toBe(404);

      for (const body of ['Hello', 'Hello again']) {
        const writer = await start(process.execPath, ['dist/writer.js', db, '/hello', body], {
          cwd: dir,
          timeoutMs: 60_000,
        }).exited;
        expect(writer.code, describeExit('the writer', writer)).toBe(0);
        // Converges on the interval poll (100 ms); the wait is generous for a loaded machine.
        const deadline = Date.now() + 20_000;
        let seen = await get('/hello');
        while (!seen.body.startsWith(`${body} (v`) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          seen = await get('/hello');
        }
        expect(seen, server.output()).toMatchObject({
          status: 200,
          body: expect.stringMatching(`^${body} \\(v`),
        });
      }
      // Closes everything it opened and exits by itself.
      server.child.kill('SIGTERM');
      const exit = await server.exited;
      expect(exit.code, describeExit('the server', exit)).toBe(0);
      expect(exit.output).toMatch(/stopped/);
    } finally {
      server.child.kill('SIGKILL');
    }
    // What was installed is what the tarballs hold.
    const installed = JSON.parse(
      readFileSync(join(dir, 'node_modules', '@apphook', 'core', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(installed.version).toBe(publicPackages().find((p) => p.name === '@apphook/core')?.version);
  }, 600_000);
});
