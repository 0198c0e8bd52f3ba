/**
 * A MikroORM 6 user: the packed packages installed with plain npm (and pnpm, strict peers) outside the
 * workspace next to MikroORM 6.6.16 pinned exactly (`npm i -E`), with no ERESOLVE and one copy of
 * @mikro-orm/core. Then one process serves routes on the machine's Node 20 when there is one (MikroORM 6 still
 * runs there) while another, on this Node, changes a page and calls markChanged in its transaction: the first
 * serves the change, pushed by Postgres NOTIFY after the commit.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireService, services } from '@apphook/test-suite/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeExit, run as runProcess, start } from '../examples/processes.js';
import { installWithNpm, installWithPnpm, packAll, root } from './pack.js';

const MIKRO_ORM_6 = { '@mikro-orm/core': '6.6.16', '@mikro-orm/postgresql': '6.6.16' };
const APPHOOK = ['@apphook/core', '@apphook/mikro-orm', '@apphook/postgresql'];
const appDir = join(root, 'test', 'consumer', 'mikro-orm6-app');

const havePostgres = await requireService('postgres');
const work = mkdtempSync(join(tmpdir(), 'apphook-consumer6-'));
let dependencies: Record<string, string> = {};

/** The machine's Node 20, if it has one: the oldest Node a MikroORM 6 user of apphook may run. */
function node20(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['-p', 'process.versions.node']).toString().trim();
    if (version.startsWith('20.')) return candidate;
  }
  return undefined;
}

/** Every installed copy of `name` under `dir`'s node_modules (nested ones included). */
function copiesOf(dir: string, name: string): string[] {
  const found: string[] = [];
  const walk = (modules: string, depth: number) => {
    if (depth > 6 || !existsSync(modules)) return;
    if (existsSync(join(modules, name, 'package.json'))) found.push(join(modules, name));
    for (const entry of readdirSync(modules)) {
      if (entry === '.pnpm' || entry === '.bin') continue;
      const scoped = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((e) => `${entry}/${e}`)
        : [entry];
      for (const pkg of scoped) walk(join(modules, pkg, 'node_modules'), depth + 1);
    }
  };
  walk(join(dir, 'node_modules'), 0);
  return found;
}

beforeAll(async () => {
  if (!havePostgres) return;
  const tarballs = await packAll(join(work, 'tarballs'));
  dependencies = {
    ...Object.fromEntries(APPHOOK.map((name) => [name, `file:${tarballs.get(name)}`])),
    ...MIKRO_ORM_6,
  };
}, 600_000);
// Asynchronous and with its own limit: the installed projects hold hundreds of thousands of files, and a
// synchronous removal on a busy machine outlasted the default hook timeout (seen in CI, 60 s).
afterAll(() => rm(work, { recursive: true, force: true, maxRetries: 3 }), 300_000);

describe.skipIf(!havePostgres)('a MikroORM 6 project installing the packed packages', () => {
  it('installs with npm next to pinned MikroORM 6: one @mikro-orm/core, no MikroORM 7 SQL layer', async () => {
    const dir = join(work, 'npm');
    await installWithNpm({ dir, dependencies });
    expect(copiesOf(dir, '@mikro-orm/core')).toHaveLength(1);
    expect(copiesOf(dir, '@mikro-orm/sql')).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules/@mikro-orm/core/package.json'), 'utf8'));
    expect(manifest.version).toBe('6.6.16');
  }, 600_000);

  it('serves a change committed with markChanged in another process (writer on this Node, server on Node 20)', async () => {
    const dir = join(work, 'npm');
    cpSync(appDir, dir, { recursive: true });
    const tag = `c6_${Date.now().toString(36)}`;
    const env = {
      APPHOOK_CONSUMER: JSON.stringify({
        url: services.postgres,
        tokenTable: `${tag}_token`,
        pageTable: `${tag}_page`,
        channel: tag,
        scope: 'routes',
      }),
    };
    const oldNode = node20();
    if (!oldNode) console.log('[consumer6] no Node 20 on this machine: the server runs on this Node too');
    const serverNode = oldNode ?? process.execPath;
    const setup = await runProcess(process.execPath, ['setup.mjs'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(setup.code, describeExit('setup.mjs', setup)).toBe(0);
    const server = start(serverNode, ['serve.mjs'], { cwd: dir, env, timeoutMs: 120_000 });
    try {
      await server.waitFor(/"version":0,"titles":\[\]/, 60_000);
      const writer = await runProcess(process.execPath, ['write.mjs', 'Hello from MikroORM 6'], {
        cwd: dir,
        env,
        timeoutMs: 60_000,
      });
      expect(writer.code, describeExit('write.mjs', writer)).toBe(0);
      expect(writer.output).toContain('"version":1');
      const [line] = await server.waitFor(/\{"version":1,[^\n]*\}/, 30_000);
      const build = JSON.parse(line) as { titles: string[]; node: string };
      expect(build.titles).toEqual(['Hello from MikroORM 6']);
      if (oldNode) expect(build.node).toMatch(/^20\./);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 300_000);

  it('installs with pnpm and strict peers next to pinned MikroORM 6', async () => {
    const dir = join(work, 'pnpm');
    await installWithPnpm({ dir, dependencies });
    const store = readdirSync(join(dir, 'node_modules', '.pnpm'));
    expect(store.filter((entry) => entry.startsWith('@mikro-orm+core@'))).toEqual(['@mikro-orm+core@6.6.16']);
    expect(store.filter((entry) => entry.startsWith('@mikro-orm+sql@'))).toEqual([]);
  }, 600_000);
});
