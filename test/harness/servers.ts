/**
 * Servers a fault test owns: a Redis and a throwaway PostgreSQL cluster on ports of their own, so a test can stop
 * and restart them without touching the shared services.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCI } from '@apphook/test-suite/services';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing answered on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** A redis-server of the test's own, stoppable and restartable on the same port. */
export class OwnRedis {
  private process: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await waitForPort(this.port);
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** The newest installed PostgreSQL's server binaries (Debian layout: /usr/lib/postgresql/<major>/bin). */
const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)) : [];
  return majors
    .sort((a, b) => Number(b) - Number(a))
    .map((major) => join(root, major, 'bin'))
    .find((dir) => existsSync(join(dir, 'pg_ctl')));
})();

/**
 * A throwaway PostgreSQL cluster (initdb + pg_ctl) on a port of its own, trust auth. When this process is root,
 * the server runs as the `postgres` user, which PostgreSQL requires.
 */
export class OwnPostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /**
   * For `describe.skipIf`: true when the server binaries are installed. When they are not, prints why and returns
   * false locally; throws under CI, so the run fails instead of skipping (like `requireService`).
   */
  static available(): boolean {
    if (PG_BIN !== undefined) return true;
    const message =
      '[apphook tests] no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (pg_ctl, initdb) for a throwaway cluster; install the postgresql package';
    if (isCI) throw new Error(`${message}. CI=true: a missing server is a failure.`);
    console.warn(`${message}. Skipping this test locally.`);
    return false;
  }

  static async start(): Promise<OwnPostgres> {
    if (!PG_BIN) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin');
    const dir = mkdtempSync(join(tmpdir(), 'apphook-pg-'));
    const pg = new OwnPostgres(await freePort(), dir);
    chmodSync(dir, 0o700);
    if (process.getuid?.() === 0) chownSync(dir, uid('postgres'), gid('postgres'));
    pg.run('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await pg.start();
    return pg;
  }

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
    await waitForPort(this.port);
  }

  /** Stops at once (`immediate`): clients see their connections drop. */
  async stop(): Promise<void> {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      await this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(tool: string, args: string[]): void {
    const bin = join(PG_BIN!, tool);
    if (process.getuid?.() === 0)
      execFileSync(RUNUSER, ['-u', 'postgres', '--', bin, ...args], { stdio: 'ignore' });
    else execFileSync(bin, args, { stdio: 'ignore' });
  }
}

// runuser lives in sbin, which a minimal PATH may lack.
const RUNUSER =
  ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p)) ?? 'runuser';

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}
function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user]).toString().trim());
}
