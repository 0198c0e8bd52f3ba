/**
 * An A/B experiment on the hot-path servers, for chasing one gap rather than reporting: named server configs,
 * all pinned to core 1 (the load generator to core 0), loaded in many short interleaved rounds, each reported
 * as its per-round ratio to the first config, with the server's CPU time and garbage collections per request.
 *
 *   node --import tsx --conditions=@apphook/source bench/hot-path/ab.ts [--rounds 24] [--db sqlite] \
 *     [--set bare,bare+redis,push,push-memory,interval] [--per-process 6]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DbKind } from '@apphook/example-pages-site/db';
import { services } from '@apphook/test-suite/services';
import { type Child, startChild } from '../lib/child.js';
import { createBenchDatabase } from '../lib/database.js';
import { median, medianCI } from '../lib/stats.js';
import { type LoadLimit, loader } from './load.js';
import type { HotPathServerConfig, HotPathServerInfo } from './server.js';

const CONFIGS: Record<string, Omit<HotPathServerConfig, 'db' | 'scope'>> = {
  bare: { variant: 'bare' },
  control: { variant: 'bare' },
  'bare+redis': { variant: 'bare', openRedis: true },
  push: { variant: 'push' },
  'push-memory': { variant: 'push', pushVia: 'memory' },
  interval: { variant: 'interval' },
};

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '24' },
    'per-process': { type: 'string', default: '6' },
    db: { type: 'string', default: 'sqlite' },
    set: { type: 'string', default: 'bare,control,bare+redis,push,push-memory,interval' },
    duration: { type: 'string', default: '1' },
    'node-args': { type: 'string', default: '' },
  },
});
const names = args.set.split(',');
for (const n of names) if (!CONFIGS[n]) throw new Error(`unknown config ${n}: ${Object.keys(CONFIGS)}`);
const rounds = Number(args.rounds);
const perProcess = Number(args['per-process']);
const serverPath = fileURLToPath(new URL('./server.ts', import.meta.url));
const pin = (pid: number, cpus: string) =>
  execFileSync('taskset', ['-apc', cpus, String(pid)], { stdio: 'ignore' });

interface Sample {
  rps: number;
  cpu: number;
  gcs: number;
  gcMs: number;
  major: number;
  heapMb: number;
}
const kinds = new Map<string, string>();
const samples = new Map<string, Sample[]>(names.map((n) => [n, []]));
const db = await createBenchDatabase(args.db as DbKind, 200);
const loadPort = loader(db.paths, 32);
const load = (server: Child<HotPathServerInfo>, limit: LoadLimit) => loadPort(server.info.port, limit);

try {
  for (let first = 0; first < rounds; first += perProcess) {
    pin(process.pid, '0-1');
    const servers = new Map<string, Child<HotPathServerInfo>>();
    for (const name of names) {
      const config = {
        ...CONFIGS[name]!,
        db: db.config,
        scope: 'bench',
        redisUrl: services.redis,
        redisChannel: `apphook:${db.tag}`,
      };
      servers.set(
        name,
        await startChild<HotPathServerInfo>(serverPath, config, {
          startTimeoutMs: 180_000,
          execArgv: args['node-args'].split(' ').filter(Boolean),
        }),
      );
    }
    for (const s of servers.values()) pin(s.process.pid!, '1');
    pin(process.pid, '0');
    for (const s of servers.values()) await load(s, { amount: 3000 });
    if (first === 0) {
      for (const [n, s] of servers)
        console.log(`${n}: resources ${JSON.stringify(await s.call('resources'))}`);
    }
    for (const [n, s] of servers) {
      const spaces =
        await s.call<Array<{ space_name: string; space_size: number; space_used_size: number }>>('spaces');
      console.log(
        `${n}: ${spaces
          .filter((x) => /new|old/.test(x.space_name))
          .map(
            (x) =>
              `${x.space_name} ${(x.space_size / 1e6).toFixed(1)}/${(x.space_used_size / 1e6).toFixed(1)}MB`,
          )
          .join(', ')}`,
      );
    }
    for (let round = first; round < Math.min(rounds, first + perProcess); round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) {
        const s = servers.get(name)!;
        const c0 = await s.call<number>('cpu');
        const g0 = await s.call<{ count: number; ms: number; major: number }>('gc');
        const r = await load(s, { duration: Number(args.duration) });
        const c1 = await s.call<number>('cpu');
        const g1 = await s.call<{ count: number; ms: number; major: number }>('gc');
        const n = Math.max(1, r.requests.total);
        samples.get(name)!.push({
          rps: r.requests.total / r.duration,
          cpu: (c1 - c0) / n,
          gcs: ((g1.count - g0.count) / n) * 1000,
          gcMs: ((g1.ms - g0.ms) / n) * 1000,
          major: ((g1.major - g0.major) / n) * 1000,
          heapMb: (await s.call<{ heapUsed: number }>('heap')).heapUsed / 1e6,
        });
        const k0 = (g0 as unknown as { kinds: Record<string, number> }).kinds;
        const k1 = (g1 as unknown as { kinds: Record<string, number> }).kinds;
        const spaces = await s.call<Array<{ space_name: string; space_size: number }>>('spaces');
        const ns = spaces.find((x) => x.space_name === 'new_space')!.space_size / 1e6;
        kinds.set(
          name,
          `[${Object.entries(k1)
            .map(([k, v]) => `${k}:${v - (k0[k] ?? 0)}`)
            .join(' ')} ns${ns.toFixed(0)}]`,
        );
      }
      const line = names.map((n) => {
        const s = samples.get(n)!.at(-1)!;
        return `${n} ${kinds.get(n)} ${Math.round(s.rps)} ${s.cpu.toFixed(1)}us gc${s.gcs.toFixed(1)}/${s.major.toFixed(1)} ${s.heapMb.toFixed(0)}MB`;
      });
      console.log(`round ${round + 1}: ${line.join(' | ')}`);
    }
    await Promise.allSettled([...servers.values()].map((s) => s.stop()));
  }
} finally {
  pin(process.pid, '0-1');
  await db.drop();
}

const base = samples.get(names[0]!)!;
console.log(`\nratios to ${names[0]} (median [95 % CI]) over ${rounds} rounds; CPU ratio is base/variant`);
for (const name of names) {
  const s = samples.get(name)!;
  const rps = s.map((x, i) => x.rps / base[i]!.rps);
  const cpu = s.map((x, i) => base[i]!.cpu / x.cpu);
  const f = (v: number[]) => {
    const ci = medianCI(v);
    return `${median(v).toFixed(3)} [${ci[0].toFixed(3)}-${ci[1].toFixed(3)}]`;
  };
  console.log(
    `${name.padEnd(12)} req/s ${f(rps)}  cpu ${f(cpu)}  cpu ${median(s.map((x) => x.cpu)).toFixed(1)} us/req  gc ${median(s.map((x) => x.gcs)).toFixed(2)}/1k req ${median(s.map((x) => x.gcMs)).toFixed(2)} ms/1k req, major ${median(s.map((x) => x.major)).toFixed(2)}/1k req, heap ${median(s.map((x) => x.heapMb)).toFixed(1)} MB`,
  );
}
process.exit(0);
