/**
 * Build, pack and install the published packages the way a user gets them: shared by the consumer tests
 * (npm, pnpm, yarn, MikroORM 7 and 6). A test calls `packAll(dir)` and installs the tarballs into a project outside
 * the workspace with `installProject`.
 *
 * `pnpm build` writes into each package's `dist/`, so two test files building at once would pack half-written
 * files: builds take a lock, and one vitest run builds once (the stamp names the vitest process).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const root = fileURLToPath(new URL('../..', import.meta.url));

export interface PublicPackage {
  /** Folder under `packages/`. */
  dir: string;
  name: string;
  version: string;
}

/** Every package under `packages/` that is not private. */
export function publicPackages(): PublicPackage[] {
  return readdirSync(join(root, 'packages'))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
        private?: boolean;
      };
      return manifest.private ? undefined : { dir, name: manifest.name, version: manifest.version };
    })
    .filter((p): p is PublicPackage => p !== undefined);
}

export async function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<string> {
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 240_000,
      maxBuffer: 64 * 1024 * 1024,
      env: options.env ?? process.env,
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${options.cwd}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
  }
}

const cacheDir = join(root, 'node_modules', '.cache', 'apphook-pack');
const lockDir = join(cacheDir, 'build.lock');
const stampFile = join(cacheDir, 'built-by');

async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(cacheDir, { recursive: true });
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      // A lock older than ten minutes belongs to a run that died.
      const since = statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > 600_000) {
        rmSync(lockDir, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error(`build lock ${lockDir} held for ten minutes`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** `pnpm build`, once per vitest run (test files run in forks of one vitest process). */
export async function buildPackages(): Promise<void> {
  const runId = String(process.ppid);
  await withBuildLock(async () => {
    if (readFileSync(stampFile, { encoding: 'utf8', flag: 'a+' }) === runId) return;
    await run('pnpm', ['run', 'build'], { cwd: root, timeoutMs: 300_000 });
    writeFileSync(stampFile, runId);
  });
}

/**
 * Builds, then `pnpm pack`s every public package into `dest` (pnpm replaces `workspace:` and `catalog:`
 * ranges, as `pnpm publish` does). Returns the tarball path of each package name.
 */
export async function packAll(dest: string): Promise<Map<string, string>> {
  await buildPackages();
  mkdirSync(dest, { recursive: true });
  const filters = publicPackages().flatMap((pkg) => ['--filter', pkg.name]);
  await run('pnpm', ['-r', ...filters, 'pack', '--pack-destination', dest], { cwd: root });
  const tarballs = new Map<string, string>();
  for (const pkg of publicPackages()) {
    const file = join(dest, `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`);
    statSync(file);
    tarballs.set(pkg.name, file);
  }
  return tarballs;
}

/** The files of a tarball, without the leading `package/`. */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const out = await run('tar', ['-tzf', tarball], { cwd: root });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^package\//, ''));
}

/** One file of a tarball as text. */
export async function tarballFile(tarball: string, path: string): Promise<string> {
  return run('tar', ['-xzOf', tarball, `package/${path}`], { cwd: root });
}

export interface ProjectOptions {
  /** The project folder, outside the workspace (under `os.tmpdir()`). */
  dir: string;
  /** `dependencies` of its package.json: tarball paths (`file:...`) and the user's pinned versions. */
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * Installs a fresh project with plain npm (the npm cache is reused: `--prefer-offline`). No flag that would
 * hide a peer conflict (`--legacy-peer-deps`, `--force`): ERESOLVE fails the install, as it would for a user.
 */
export async function installWithNpm(project: ProjectOptions): Promise<string> {
  writeProject(project);
  return run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: project.dir,
    timeoutMs: 420_000,
    env: withoutWorkspaceEnv(),
  });
}

/**
 * Installs a fresh project with pnpm (the workspace's store is reused). `strict-peer-dependencies` makes an
 * unmet or conflicting peer an error instead of a warning.
 */
export async function installWithPnpm(project: ProjectOptions): Promise<string> {
  // From the registry, @apphook/sqlite's "@apphook/core": "^0.1.0" finds the published core; from tarballs,
  // pnpm needs to be told that the tarball is that package (npm dedupes to the root's tarball by itself).
  writeProject(project, { pnpm: { overrides: tarballOverrides(project) } });
  writeFileSync(join(project.dir, '.npmrc'), 'strict-peer-dependencies=true\n');
  return run('pnpm', ['install', '--prefer-offline', '--reporter=append-only'], {
    cwd: project.dir,
    timeoutMs: 420_000,
    env: withoutWorkspaceEnv(),
  });
}

/**
 * Installs a fresh project with yarn classic (1.22: what `npm install -g yarn` and the official Node Docker images
 * give; yarn 2+ users run it per project through corepack). Yarn 1 neither installs peers (list them in
 * `dependencies`, as its users do) nor has a strict-peer mode: a peer warning about an @apphook package
 * ("unmet peer dependency", "incorrect peer dependency") fails the install here; other packages' are returned.
 * Install scripts are skipped: better-sqlite3 would compile from source (its prebuilt binaries are not on the npm
 * registry), which the npm and pnpm installs already do; a project installed this way type-checks but cannot open
 * SQLite.
 */
export async function installWithYarn(project: ProjectOptions): Promise<string> {
  // As for pnpm: the tarballs' own "@apphook/core": "^0.1.0" ranges must resolve to the tarballs, not the registry.
  // Both spelled relative to the project, or yarn sees two patterns for one tarball and warns.
  const local = (spec: string) =>
    spec.startsWith('file:/') ? `file:${relative(project.dir, spec.slice(5))}` : spec;
  const dependencies = Object.fromEntries(
    Object.entries(project.dependencies).map(([n, s]) => [n, local(s)]),
  );
  const resolutions = Object.fromEntries(
    Object.entries(tarballOverrides(project)).map(([n, s]) => [n, local(s)]),
  );
  writeProject({ ...project, dependencies }, { resolutions });
  const yarn = join(root, 'test', 'node_modules', 'yarn', 'bin', 'yarn.js');
  const output = await run(
    process.execPath,
    [yarn, 'install', '--non-interactive', '--prefer-offline', '--no-progress', '--ignore-scripts'],
    { cwd: project.dir, timeoutMs: 420_000, env: withoutWorkspaceEnv() },
  );
  const peers = output
    .split('\n')
    .filter((line) => /"[^"]*@apphook\/[^"]*" has (unmet|incorrect) peer/.test(line));
  if (peers.length > 0)
    throw new Error(`yarn install in ${project.dir} warned about peers:\n${peers.join('\n')}`);
  return output;
}

/** `file:` tarballs of @apphook packages, for a manager's overrides (pnpm) or resolutions (yarn). */
function tarballOverrides(project: ProjectOptions): Record<string, string> {
  return Object.fromEntries(
    Object.entries(project.dependencies).filter(
      ([name, spec]) => name.startsWith('@apphook/') && spec.startsWith('file:'),
    ),
  );
}

function writeProject(project: ProjectOptions, extra: Record<string, unknown> = {}): void {
  mkdirSync(project.dir, { recursive: true });
  const manifest = {
    name: 'apphook-consumer',
    private: true,
    type: 'module',
    dependencies: project.dependencies,
    devDependencies: project.devDependencies ?? {},
    ...extra,
  };
  writeFileSync(join(project.dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Drops what pnpm sets for scripts it runs (`npm_config_*`), so the project's own settings apply. */
function withoutWorkspaceEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'PNPM_SCRIPT_SRC_DIR') env[key] = value;
  }
  return env;
}
