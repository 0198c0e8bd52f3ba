/**
 * What a user gets from the registry: every public package packed as `pnpm publish` would pack it, checked for
 * what a published package needs, then installed outside the workspace with plain npm, with pnpm and with yarn
 * next to a user's pinned MikroORM 7.2.1. A small app (test/consumer/app) type-checks under strict settings with
 * `skipLibCheck: false` and the `apphook` command runs; with npm and pnpm, two processes of the app share an
 * SQLite file: one changes a page in a transaction, the other serves the change.
 */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeExit, start } from '../examples/processes.js';
import {
  installWithNpm,
  installWithPnpm,
  installWithYarn,
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
/** The peers the app's packages name, which npm and pnpm install by themselves and a yarn 1 user lists. */
const PEERS = {
  fastify: '^5.12.0',
  hono: '^4.0.0',
  koa: '^3.0.0',
  '@koa/router': '^15.0.0',
  '@nestjs/common': '^12.0.0',
  '@nestjs/core': '^12.0.0',
  'reflect-metadata': '^0.2.0',
  rxjs: '^7.1.0',
  '@opentelemetry/api': '^1.9.0',
  ioredis: '^6.0.0',
};
const appDir = join(root, 'test', 'consumer', 'app');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const work = mkdtempSync(join(tmpdir(), 'apphook-consumer-'));
let tarballs = new Map<string, string>();

beforeAll(async () => {
  tarballs = await packAll(join(work, 'tarballs'));
}, 600_000);
// Asynchronous and with its own limit: the installed projects hold hundreds of thousands of files, and a
// synchronous removal on a busy machine outlasted the default hook timeout (seen in CI, 60 s).
afterAll(() => rm(work, { recursive: true, force: true, maxRetries: 3 }), 300_000);

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

/**
 * Installs the tarballs with `install`, copies the app in, and runs one tsc that emits dist/ and reports.
 * skipLibCheck is off: errors in apphook's declarations or in the app fail the test; errors inside other
 * libraries' declarations are printed, not ours to fix. Then `apphook --help` runs from node_modules/.bin.
 */
async function installAndTypeCheck(
  manager: string,
  install: (project: ProjectOptions) => Promise<string>,
  extra: Record<string, string> = {},
): Promise<string> {
  const dir = join(work, manager);
  const project: ProjectOptions = {
    dir,
    dependencies: {
      ...Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`])),
      ...PINNED,
      ...extra,
    },
    devDependencies: DEV,
  };
  const started = Date.now();
  await install(project);
  const installed = Date.now();
  cpSync(join(appDir, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(appDir, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  const output = await run(process.execPath, [tsc, '-p', '.'], { cwd: dir }).catch(
    (error: Error) => error.message,
  );
  console.log(
    `[consumer:${manager}] install ${installed - started} ms, tsc ${Date.now() - installed} ms (load ${loadavg()[0]?.toFixed(1)})`,
  );
  const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
  const foreign = errors.filter(
    (line) => /node_modules\//.test(line) && !/node_modules\/@apphook\//.test(line),
  );
  if (foreign.length > 0)
    console.log(`[consumer:${manager}] errors in other libraries' types:\n${foreign.join('\n')}`);
  expect(errors.filter((line) => !foreign.includes(line))).toEqual([]);
  // The bin of @apphook/cli, linked by the package manager, starts the built command.
  const help = await run(join(dir, 'node_modules', '.bin', 'apphook'), ['--help'], { cwd: dir });
  expect(help).toMatch(/^usage:\n {2}apphook status/);
  return dir;
}

describe('installed with yarn 1 next to pinned MikroORM 7.2.1 and the peers listed', () => {
  it('type-checks a strict app against every package, with no peer warning about apphook', async () => {
    await installAndTypeCheck('yarn', installWithYarn, PEERS);
  }, 600_000);
});

describe.each([
  ['npm', installWithNpm],
  ['pnpm', installWithPnpm],
] as const)('installed with %s next to pinned MikroORM 7.2.1', (manager, install) => {
  it('type-checks a strict app against every package and runs two processes on one SQLite file', async () => {
    const dir = await installAndTypeCheck(manager, install);

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
