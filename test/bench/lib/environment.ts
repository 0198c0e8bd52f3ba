/** The machine and the versions a run came from, for the header of docs/benchmarks.md. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '@apphook/example-pages-site/db';
import type { SqlEntityManager } from '@mikro-orm/sql';

const testDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rootDir = join(testDir, '..');

export interface Environment {
  date: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGb: number;
    os: string;
    /** 1-minute load average when the run started and ended: other work on the machine skews results. */
    loadAverageStart: number;
    loadAverageEnd?: number;
  };
  versions: Record<string, string>;
  git: string;
}

function packageVersion(name: string): string | undefined {
  const candidates = [
    join(testDir, 'node_modules', name, 'package.json'),
    join(rootDir, 'examples', 'pages-site', 'node_modules', name, 'package.json'),
  ];
  const pnpmDir = join(rootDir, 'node_modules', '.pnpm');
  if (existsSync(pnpmDir)) {
    const prefix = `${name.replace('/', '+')}@`;
    for (const entry of readdirSync(pnpmDir)) {
      if (entry.startsWith(prefix))
        candidates.push(join(pnpmDir, entry, 'node_modules', name, 'package.json'));
    }
  }
  for (const file of candidates) {
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return undefined;
}

function git(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: rootDir }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: rootDir }).toString().trim();
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

async function postgresVersion(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

async function redisVersion(url: string): Promise<string> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
}

async function sqliteVersion(): Promise<string> {
  const db = await openDatabase({ kind: 'sqlite', file: ':memory:' });
  try {
    const rows = await (db.orm.em.fork() as SqlEntityManager).execute<Array<{ v: string }>>(
      'select sqlite_version() as v',
    );
    return rows[0]?.v ?? 'unknown';
  } finally {
    await db.close();
  }
}

export async function describeEnvironment(services: {
  postgres?: string;
  redis?: string;
}): Promise<Environment> {
  const cpus = os.cpus();
  const versions: Record<string, string> = { node: process.version };
  const settle = async (key: string, read: () => Promise<string>) => {
    try {
      versions[key] = await read();
    } catch (error) {
      versions[key] = `unknown (${error instanceof Error ? error.message : String(error)})`;
    }
  };
  if (services.postgres) await settle('PostgreSQL', () => postgresVersion(services.postgres!));
  if (services.redis) await settle('Redis', () => redisVersion(services.redis!));
  await settle('SQLite', sqliteVersion);
  for (const name of [
    '@apphook/core',
    '@mikro-orm/core',
    'better-sqlite3',
    'pg',
    'ioredis',
    'express',
    'fastify',
    'koa',
    '@koa/router',
    'hono',
    'autocannon',
  ]) {
    const version = packageVersion(name);
    if (version) versions[name] = version;
  }
  return {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      cores: os.availableParallelism(),
      memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      os: `${os.type()} ${os.release()} (${os.arch()})`,
      loadAverageStart: Math.round(os.loadavg()[0]! * 100) / 100,
    },
    versions,
    git: git(),
  };
}
