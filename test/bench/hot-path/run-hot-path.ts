/**
 * Section 1, hot-path overhead: one server process per variant over the same 200-route table, loaded in turn by
 * autocannon in this process (two cores: the load generator and the server never share an event loop).
 * Fresh processes every few rounds and a rotated order every round, so neither drift on a shared machine nor
 * the luck of one process settles on one variant.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DbKind } from '@apphook/example-pages-site/db';
import { type Child, startChild } from '../lib/child.js';
import { createBenchDatabase } from '../lib/database.js';
import { median, medianCI, round } from '../lib/stats.js';
import { type LoadLimit, loader } from './load.js';
import type { HotPathServerConfig, HotPathServerInfo, Variant } from './server.js';

/**
 * Every server runs with a young generation of fixed size. By default V8 sizes it by the recent allocation rate,
 * and this bench's duty cycle (each server idles through the other variants' rounds, then takes a burst) fools
 * that: at a burst's first scavenge the rate still looks idle, the young generation shrinks from 64 MB to 2–4 MB
 * and regrows only over many seconds, so that server collects 10–20 times as often per request (13 against 0.7
 * scavenges per 1,000 requests) and loses 10–15 % of its throughput. Which process it hits depends on its heap
 * state: in most runs the SQLite + Redis push server (issue 15), in some a bare one. 32 MB semi-spaces are what
 * the default grows to under steady load, so every variant is measured at that steady state.
 */
export const SERVER_NODE_FLAGS = ['--min-semi-space-size=32', '--max-semi-space-size=32'];

/** The server variants plus `control`: a second bare server, an A/A comparison that shows the measurement noise. */
export type HotPathVariant = Variant | 'control';

const serverPath = fileURLToPath(new URL('./server.ts', import.meta.url));

export const VARIANTS: readonly HotPathVariant[] = [
  'bare',
  'control',
  'push',
  'interval',
  'request',
  'naive',
];

export const VARIANT_LABELS: Record<HotPathVariant, string> = {
  bare: 'bare static router (no apphook)',
  control: 'bare again (A/A control: the noise)',
  push: 'apphook push',
  interval: 'apphook interval (1 s)',
  request: 'apphook request',
  naive: 'naive django CMS (SELECT per request)',
};

export interface HotPathOptions {
  dbs: DbKind[];
  routes: number;
  rounds: number;
  durationS: number;
  /** Rounds measured on one set of server processes before fresh ones are started. */
  roundsPerProcess: number;
  /** Requests sent to each fresh server before it is measured (JIT warm-up); 0 for none. */
  warmupRequests: number;
  connections: number;
  /** Pin the servers to one core and this (load-generating) process to the other, with taskset. */
  pin: boolean;
  /** Write a V8 CPU profile of every server process into this folder (`--cpu-prof`). */
  profileDir?: string | undefined;
  redisUrl: string | undefined;
  log(line: string): void;
}

export interface HotPathRound {
  reqPerSec: number;
  p50: number;
  p99: number;
  queriesPerSec: number;
  errors: number;
  non2xx: number;
  /** The server process's CPU time (user + system) per request in this round, in microseconds. */
  cpuUsPerRequest: number;
  /** Garbage collections in the server per 1,000 requests of this round (a count the machine's load does not move). */
  gcPer1kRequests?: number;
}

export interface HotPathRow {
  db: DbKind;
  variant: HotPathVariant;
  label: string;
  /** What carries pushes (push variant only). */
  channel?: string;
  /** Why the variant was not measured. */
  skipped?: string;
  rounds: HotPathRound[];
  /** Median over rounds. */
  reqPerSec: number;
  reqPerSecMin: number;
  reqPerSecMax: number;
  p50: number;
  p99: number;
  queriesPerSec: number;
  /** Median over rounds of this variant's throughput relative to the bare router's in the same round. */
  ratioToBare: number;
  ratioToBareMin: number;
  ratioToBareMax: number;
  /** 95 % bootstrap confidence interval of that median ratio. */
  ratioToBareCI: [number, number];
  /** Median over rounds of the server's CPU time per request, microseconds. */
  cpuUsPerRequest: number;
  /** Median over rounds of bare's CPU per request over this variant's (same direction as the throughput ratio). */
  cpuRatioToBare: number;
  cpuRatioToBareCI: [number, number];
  /** Median over rounds of the server's garbage collections per 1,000 requests. */
  gcPer1kRequests?: number;
}

export interface HotPathResult {
  options: Omit<HotPathOptions, 'log' | 'redisUrl' | 'profileDir'>;
  /** How the server and the load generator were placed on cores. */
  placement: string;
  rows: HotPathRow[];
  problems: string[];
}

/** `taskset -a -p -c cpus pid`: every thread of the process, `false` when taskset is missing or refused. */
function pinProcess(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-apc', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function runHotPath(options: HotPathOptions): Promise<HotPathResult> {
  const rows: HotPathRow[] = [];
  const problems: string[] = [];
  const cores = os.availableParallelism();
  // The load generator (autocannon, in this process) on core 0, the server under load on core 1: neither
  // steals the other's core, so a server's throughput is its own CPU's. Other processes on the machine still
  // share both cores; the A/A control shows what that costs.
  const pin = options.pin && cores >= 2 && pinProcess(process.pid, `0-${cores - 1}`);
  const placement = pin
    ? `server processes pinned to core 1, the load generator (this process) to core 0 (taskset), ${cores} cores`
    : `not pinned (${options.pin ? (cores < 2 ? 'one core' : 'taskset missing or refused') : 'pinning off'}), ${cores} cores`;
  options.log(`  placement: ${placement}`);
  let set = 0;
  try {
    for (const kind of options.dbs) {
      const db = await createBenchDatabase(kind, options.routes);
      const skipped = new Map<HotPathVariant, string>();
      const rounds = new Map<HotPathVariant, HotPathRound[]>();
      const channels = new Map<HotPathVariant, string>();
      const loadPort = loader(db.paths, options.connections);
      const load = (server: Child<HotPathServerInfo>, limit: LoadLimit) => loadPort(server.info.port, limit);
      try {
        for (let first = 0; first < options.rounds; first += options.roundsPerProcess) {
          // Fresh processes every few rounds: two identical Node processes can settle at throughputs far apart
          // (JIT, placement), so a variant measured in one process only would carry that process's luck.
          set++;
          // Servers start on every core (a forked child inherits this process's affinity), then move to core 1.
          if (pin) pinProcess(process.pid, `0-${cores - 1}`);
          const servers = await startServers(kind, db.config, db.tag, options.redisUrl, skipped, problems, {
            profile: options.profileDir
              ? (v) => join(options.profileDir!, `${kind}-${v}-${set}.cpuprofile`)
              : undefined,
          });
          if (pin) {
            for (const server of servers.values()) pinProcess(server.process.pid!, '1');
            pinProcess(process.pid, '0');
          }
          try {
            for (const [variant, server] of servers) {
              if (server.info.channel) channels.set(variant, server.info.channel);
              if (first === 0 && server.info.routes !== options.routes) {
                problems.push(
                  `hot path ${kind}/${variant}: serves ${server.info.routes} routes, expected ${options.routes}`,
                );
              }
            }
            if (options.warmupRequests > 0) {
              for (const server of servers.values()) await load(server, { amount: options.warmupRequests });
            }
            const last = Math.min(options.rounds, first + options.roundsPerProcess);
            for (let round = first; round < last; round++) {
              // Rotated every round, so no variant always runs right after another (position effects cancel out).
              const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
              for (const variant of order) {
                const server = servers.get(variant);
                if (!server) continue;
                const q0 = await server.call<number>('queries');
                const c0 = await server.call<number>('cpu');
                const g0 = await server.call<{ count: number }>('gc');
                const t0 = performance.now();
                const result = await load(server, { duration: options.durationS });
                const seconds = (performance.now() - t0) / 1000;
                const c1 = await server.call<number>('cpu');
                const g1 = await server.call<{ count: number }>('gc');
                const q1 = await server.call<number>('queries');
                const measured: HotPathRound = {
                  reqPerSec: result.requests.total / result.duration,
                  p50: result.latency.p50,
                  p99: result.latency.p99,
                  queriesPerSec: (q1 - q0) / seconds,
                  errors: result.errors,
                  non2xx: result.non2xx,
                  cpuUsPerRequest: (c1 - c0) / Math.max(1, result.requests.total),
                  gcPer1kRequests: ((g1.count - g0.count) * 1000) / Math.max(1, result.requests.total),
                };
                if (measured.errors > 0 || measured.non2xx > 0) {
                  problems.push(
                    `hot path ${kind}/${variant} round ${round + 1}: ${measured.errors} connection errors, ${measured.non2xx} non-2xx responses`,
                  );
                }
                rounds.set(variant, [...(rounds.get(variant) ?? []), measured]);
                options.log(
                  `  ${kind.padEnd(8)} ${variant.padEnd(9)} round ${round + 1}: ${Math.round(measured.reqPerSec).toString().padStart(6)} req/s  p50 ${measured.p50} ms  p99 ${measured.p99} ms  ${measured.cpuUsPerRequest.toFixed(1)} us CPU/req  ${measured.queriesPerSec.toFixed(1)} queries/s`,
                );
              }
            }
          } finally {
            await Promise.allSettled([...servers.values()].map((s) => s.stop()));
          }
        }
      } finally {
        await db
          .drop()
          .catch((error: unknown) => problems.push(`hot path ${kind}: cleanup failed: ${String(error)}`));
      }
      const bareRounds = rounds.get('bare') ?? [];
      for (const variant of VARIANTS) {
        const measured = rounds.get(variant) ?? [];
        // Each round's ratio to the bare router of the same round: drift on a shared machine hits both alike.
        const ratios = measured.map((r, i) => r.reqPerSec / (bareRounds[i]?.reqPerSec ?? Number.NaN));
        const cpuRatios = measured.map(
          (r, i) => (bareRounds[i]?.cpuUsPerRequest ?? Number.NaN) / r.cpuUsPerRequest,
        );
        const ci = medianCI(ratios);
        const cpuCI = medianCI(cpuRatios);
        rows.push({
          db: kind,
          variant,
          label: VARIANT_LABELS[variant],
          ...(channels.has(variant) ? { channel: channels.get(variant) } : {}),
          ...(skipped.has(variant) ? { skipped: skipped.get(variant) } : {}),
          rounds: measured,
          reqPerSec: round(median(measured.map((r) => r.reqPerSec)), 0),
          reqPerSecMin: round(Math.min(...measured.map((r) => r.reqPerSec)), 0),
          reqPerSecMax: round(Math.max(...measured.map((r) => r.reqPerSec)), 0),
          p50: round(median(measured.map((r) => r.p50)), 2),
          p99: round(median(measured.map((r) => r.p99)), 2),
          queriesPerSec: round(median(measured.map((r) => r.queriesPerSec)), 2),
          ratioToBare: round(median(ratios), 3),
          ratioToBareMin: round(Math.min(...ratios), 3),
          ratioToBareMax: round(Math.max(...ratios), 3),
          ratioToBareCI: [round(ci[0], 3), round(ci[1], 3)],
          cpuUsPerRequest: round(median(measured.map((r) => r.cpuUsPerRequest)), 2),
          cpuRatioToBare: round(median(cpuRatios), 3),
          cpuRatioToBareCI: [round(cpuCI[0], 3), round(cpuCI[1], 3)],
          gcPer1kRequests: round(median(measured.map((r) => r.gcPer1kRequests ?? Number.NaN)), 2),
        });
      }
    }
  } finally {
    if (pin) pinProcess(process.pid, `0-${cores - 1}`);
  }
  const { log: _log, redisUrl: _redis, profileDir: _profile, ...rest } = options;
  return { options: rest, placement, rows, problems };
}

/** One process per variant, started together. A variant that cannot start is skipped (and, unless it only lacks a push channel, reported). */
async function startServers(
  kind: DbKind,
  db: HotPathServerConfig['db'],
  tag: string,
  redisUrl: string | undefined,
  skipped: Map<HotPathVariant, string>,
  problems: string[],
  options: { profile: ((variant: HotPathVariant) => string) | undefined },
): Promise<Map<HotPathVariant, Child<HotPathServerInfo>>> {
  const servers = new Map<HotPathVariant, Child<HotPathServerInfo>>();
  await Promise.all(
    VARIANTS.filter((v) => !skipped.has(v)).map(async (variant) => {
      const config: HotPathServerConfig = {
        variant: variant === 'control' ? 'bare' : variant,
        db,
        scope: 'bench',
        ...(redisUrl ? { redisUrl, redisChannel: `apphook:${tag}` } : {}),
      };
      try {
        const profile = options.profile?.(variant);
        const execArgv = [
          ...SERVER_NODE_FLAGS,
          ...(profile
            ? ['--cpu-prof', `--cpu-prof-dir=${dirname(profile)}`, `--cpu-prof-name=${basename(profile)}`]
            : []),
        ];
        servers.set(
          variant,
          await startChild<HotPathServerInfo>(serverPath, config, { execArgv, startTimeoutMs: 180_000 }),
        );
      } catch (error) {
        const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        skipped.set(variant, message);
        // Only a missing push channel (no LISTEN, no Redis) is a reason not to measure; anything else broke.
        if (!/has no push channel/.test(message)) problems.push(`hot path ${kind}/${variant}: ${message}`);
      }
    }),
  );
  return servers;
}
