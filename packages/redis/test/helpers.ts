import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { services } from '@apphook/test-suite/services';
import { Redis, type RedisOptions } from 'ioredis';

/** A name unique to this test run: connection names, channel prefixes. */
export function unique(label: string): string {
  return `apphook-redis-test-${label}-${randomUUID().slice(0, 8)}`;
}

/** A client of the shared Redis, tracked so `closeClients()` can end it. */
const clients = new Set<Redis>();

export function client(options: RedisOptions = {}, url = services.redis): Redis {
  const created = new Redis(url, { maxRetriesPerRequest: 2, ...options });
  created.on('error', () => {});
  clients.add(created);
  return created;
}

export async function closeClients(): Promise<void> {
  for (const c of clients) c.disconnect();
  clients.clear();
}

/** Subscriber connections whose CLIENT LIST name is `<connectionName>:subscriber`. */
export async function countNamed(admin: Redis, connectionName: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` name=${connectionName}:subscriber `)).length;
}

export function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
export async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = 30_000 + Math.floor(Math.random() * 20_000);
    const ok = await Promise.all([freePort(port), freePort(port + 10_000)]).then(
      () => true,
      () => false,
    );
    if (ok) return port;
  }
}

/**
 * A redis-server of the test's own on a free port, which the test may stop and restart: the shared server
 * on 6379 is never touched (DESIGN: fault tests start their own instance).
 */
export class OwnRedis {
  private process: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly args: readonly string[],
  ) {}

  /**
   * `extraArgs(port)` adds redis-server arguments (cluster mode, replicaof); `args(port)` replaces them all
   * (a Sentinel: config file first).
   */
  static async start(
    options: {
      port?: number;
      extraArgs?: (port: number) => string[];
      args?: (port: number) => string[];
    } = {},
  ): Promise<OwnRedis> {
    const port = options.port ?? (await freePort());
    const args = options.args?.(port) ?? [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...(options.extraArgs?.(port) ?? []),
    ];
    const server = new OwnRedis(port, args);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server unless it runs already. */
  async start(): Promise<void> {
    if (this.process && this.process.exitCode === null) return;
    const child = spawn('redis-server', [...this.args], { stdio: 'ignore' });
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (!(await ping(this.port))) {
      if (child.exitCode !== null)
        throw new Error(`redis-server on port ${this.port} exited (${child.exitCode})`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await sleep(25);
    }
  }

  /** Kills the server (SIGKILL: no goodbye to the clients, like a crash) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('PONG')) done(true);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A three-master Redis Cluster of the test's own (no replicas), built with `redis-cli --cluster create`. Its
 * nodes can be stopped and restarted; they rejoin from their nodes.conf.
 */
export class OwnCluster {
  private constructor(
    readonly nodes: OwnRedis[],
    private readonly dir: string,
  ) {}

  static async start(): Promise<OwnCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'apphook-redis-cluster-'));
    const nodes: OwnRedis[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freeClusterPort();
      nodes.push(
        await OwnRedis.start({
          port,
          extraArgs: (p) => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${p}.conf`),
            '--dir',
            dir,
            '--cluster-node-timeout',
            '3000',
          ],
        }),
      );
    }
    const cluster = new OwnCluster(nodes, dir);
    try {
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      await cluster.untilHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get startupNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** Waits until every node reports `cluster_state:ok`. */
  async untilHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const node of this.nodes) {
      const c = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      try {
        for (;;) {
          const info = (await c.cluster('INFO').catch(() => '')) as string;
          if (info.includes('cluster_state:ok')) break;
          if (Date.now() > deadline) throw new Error(`cluster node ${node.port} is not healthy: ${info}`);
          await sleep(100);
        }
      } finally {
        c.disconnect();
      }
    }
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * A master, one replica and one Sentinel (quorum 1) of the test's own. `failover()` asks the Sentinel to
 * promote the replica, like a real failover, and waits until it reports the new master.
 */
export class OwnSentinelGroup {
  readonly name = 'apphook-test-master';
  private constructor(
    readonly servers: OwnRedis[],
    readonly sentinel: OwnRedis,
    private readonly dir: string,
  ) {}

  static async start(): Promise<OwnSentinelGroup> {
    const dir = await mkdtemp(join(tmpdir(), 'apphook-redis-sentinel-'));
    const master = await OwnRedis.start();
    const replica = await OwnRedis.start({
      extraArgs: () => ['--replicaof', '127.0.0.1', String(master.port)],
    });
    const config = join(dir, 'sentinel.conf');
    const name = 'apphook-test-master';
    await writeFile(
      config,
      [
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    );
    const sentinel = await OwnRedis.start({
      args: (port) => [config, '--sentinel', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
    });
    const group = new OwnSentinelGroup([master, replica], sentinel, dir);
    await group.untilReplicaKnown();
    return group;
  }

  get sentinels(): Array<{ host: string; port: number }> {
    return [{ host: '127.0.0.1', port: this.sentinel.port }];
  }

  async masterPort(): Promise<number> {
    const c = new Redis(this.sentinel.port, '127.0.0.1');
    try {
      const [, port] = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as [string, string];
      return Number(port);
    } finally {
      c.disconnect();
    }
  }

  /** Promotes the replica and waits until the Sentinel names it master. */
  async failover(): Promise<void> {
    const before = await this.masterPort();
    const c = new Redis(this.sentinel.port, '127.0.0.1');
    try {
      await c.call('SENTINEL', 'FAILOVER', this.name);
    } finally {
      c.disconnect();
    }
    const deadline = Date.now() + 15_000;
    while ((await this.masterPort()) === before) {
      if (Date.now() > deadline) throw new Error('the Sentinel failover did not happen');
      await sleep(50);
    }
  }

  private async untilReplicaKnown(): Promise<void> {
    const c = new Redis(this.sentinel.port, '127.0.0.1');
    try {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const replicas = (await c.call('SENTINEL', 'REPLICAS', this.name)) as string[][];
        const flags = replicas[0]?.[replicas[0].indexOf('flags') + 1];
        if (flags === 'slave') return;
        if (Date.now() > deadline) throw new Error('the Sentinel does not see the replica');
        await sleep(100);
      }
    } finally {
      c.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.sentinel.stop();
    for (const server of this.servers) await server.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
