/** Renders a run as docs/benchmarks.md: machine and versions, the targets, then one table per section. */
import type { ChannelResult } from '../channels/run-channels.js';
import type { FanOutResult } from '../fan-out/run-fan-out.js';
import type { HotPathResult } from '../hot-path/run-hot-path.js';
import type { Environment } from '../lib/environment.js';
import { fixed, whole } from '../lib/stats.js';
import type { MicroOptions, MicroResult } from '../micro/run-micro.js';
import type { ScaleResult } from '../scale/run-scale.js';
import { fanOutSection, microSection, propagationProse } from './sections.js';
import { stormSection } from './storm.js';
import type { Target } from './targets.js';

export interface BenchSettings {
  quick: boolean;
  hotPath: {
    routes: number;
    rounds: number;
    durationS: number;
    roundsPerProcess: number;
    connections: number;
  };
  /** The micro runner's own options, less what each run decides (stores, log). */
  micro: Omit<MicroOptions, 'stores' | 'log'>;
  fanOut: { reloaders: number; processes: number; commits: number; tenants: number };
  channels: {
    workers: number;
    routes: number;
    idleS: number;
    safetyIntervalMs: number;
    commits: number;
    /** Random pause after the rebuild spacing, between one commit served everywhere and the next. */
    pauseMs: [number, number];
    /** The workers' rebuild spacing (`minRebuildIntervalMs`), waited out before every propagation commit. */
    spacingMs: number;
    /** Reports written before isolated commits: commits at random gaps of this range. */
    gapMs?: [number, number];
    /** Commits per storm (reports written before the rounds: the one storm per group). */
    stormCommits: number;
    /** Storm rounds, one storm per group each (absent in reports written before the rounds). */
    stormRounds?: number;
    stormMaxMs: number;
  };
  scale: { sizes: number[]; rebuilds: number };
}

export interface BenchResults {
  environment: Environment;
  settings: BenchSettings;
  durationS: number;
  targets: Target[];
  hotPath?: HotPathResult;
  micro?: MicroResult;
  fanOut?: FanOutResult;
  channels?: ChannelResult[];
  scale?: ScaleResult;
  problems: string[];
  notes: string[];
}

const STATUS: Record<Target['status'], string> = {
  met: '✅ met',
  missed: '❌ missed',
  inconclusive: '🟡 inconclusive',
  'not measured': '⚪ not measured',
};
const DB_LABEL: Record<string, string> = { postgres: 'PostgreSQL', sqlite: 'SQLite', mysql: 'MySQL' };

export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function environmentSection(r: BenchResults): string {
  const { machine, versions } = r.environment;
  return [
    '## Machine and versions',
    '',
    table(
      ['', ''],
      [
        ['date', r.environment.date],
        ['CPU', `${machine.cpu}, ${machine.cores} cores`],
        ['memory', `${machine.memoryGb} GB`],
        ['OS', machine.os],
        [
          'load average (1 min)',
          `${fixed(machine.loadAverageStart, 2)} at the start, ${fixed(machine.loadAverageEnd, 2)} at the end (other work on the machine skews the numbers)`,
        ],
        ['commit', r.environment.git],
        ...Object.entries(versions).map(([name, version]) => [name, version]),
      ],
    ),
  ].join('\n');
}

function targetsSection(targets: Target[]): string {
  return [
    '## Targets',
    '',
    'Each target is a ratio or a bound measured in this same run.',
    '',
    table(
      ['target', 'measured', 'bound', 'status', 'what limits it'],
      targets.map((t) => [t.target, t.measured, t.bound, STATUS[t.status], t.note ?? '']),
    ),
  ].join('\n');
}

function hotPathSection(hot: HotPathResult): string {
  const o = hot.options;
  const parts = [
    '## 1. Hot-path overhead',
    '',
    `One Express app serving ${o.routes} routes read from a database table; each variant is a server process of its own, loaded by autocannon (${o.connections} connections) from the bench process. ` +
      `Placement: ${hot.placement ?? 'not pinned'}. ` +
      `Variants alternate: ${o.rounds} round${o.rounds > 1 ? 's' : ''} of ${o.durationS} s each (the order rotates every round), on server processes started afresh every ${o.roundsPerProcess > 1 ? `${o.roundsPerProcess} rounds` : 'round'}${o.warmupRequests > 0 ? ` and warmed up with ${whole(o.warmupRequests)} requests` : ''}. req/s is the median over rounds (min–max in brackets); ` +
      'the ratio to bare is the median of each round’s ratio to the bare router of the same round, with a 95 % bootstrap confidence interval of that median; server CPU is the server process’s user + system time per request (its own `process.cpuUsage()`), and its ratio is bare’s over the variant’s, per round; latency is the median of the rounds’ percentiles; ' +
      'GCs /1k req is the server’s garbage collections per 1,000 requests (median over rounds), a count the machine’s load does not move; every server runs with a fixed young generation (`--min-semi-space-size=32 --max-semi-space-size=32`, what V8 grows to under steady load), see "Reading these numbers". ' +
      'DB queries/s counts token reads (a counting wrapper around the store, or the naive middleware’s SELECTs).',
  ];
  for (const db of [...new Set(hot.rows.map((r) => r.db))]) {
    const rows = hot.rows.filter((r) => r.db === db);
    parts.push(
      '',
      `### ${DB_LABEL[db]}`,
      '',
      table(
        [
          'variant',
          'req/s',
          'p50 ms',
          'p99 ms',
          'ratio to bare [95 % CI]',
          'server CPU µs/req',
          'CPU ratio to bare [95 % CI]',
          'GCs /1k req',
          'DB queries/s',
        ],
        rows.map((r) =>
          r.skipped
            ? [r.label, `not measured: ${r.skipped}`, '', '', '', '', '', '', '']
            : [
                r.label + (r.channel ? ` (${r.channel})` : ''),
                `${whole(r.reqPerSec)} (${whole(r.reqPerSecMin)}–${whole(r.reqPerSecMax)})`,
                fixed(r.p50, 1),
                fixed(r.p99, 1),
                r.variant === 'bare' ? '1' : `${fixed(r.ratioToBare, 3)} ${interval(r.ratioToBareCI)}`,
                fixed(r.cpuUsPerRequest, 1),
                r.variant === 'bare' ? '1' : `${fixed(r.cpuRatioToBare, 3)} ${interval(r.cpuRatioToBareCI)}`,
                r.gcPer1kRequests === undefined ? '' : fixed(r.gcPer1kRequests, 1),
                fixed(r.queriesPerSec, 1),
              ],
        ),
      ),
    );
  }
  return parts.join('\n');
}

const interval = (c: [number, number] | undefined) => (c ? `[${fixed(c[0], 3)}–${fixed(c[1], 3)}]` : '');

function channelSections(channels: ChannelResult[], s: BenchSettings['channels']): string {
  const skipped = (c: ChannelResult) => `not measured: ${c.skipped}`;
  const measuredProp = channels.filter((c) => c.group.propagation);
  return [
    '## 2. Propagation',
    '',
    propagationProse(s),
    '',
    table(
      [
        'channel',
        'commits',
        'push delay: all workers started rebuilding, p50 / p99 ms',
        'total: all workers serve it, p50 ms',
        'p99 ms',
        'max ms',
        'each worker p50 ms',
        'rebuild p50 ms',
        'rebuild p99 ms',
      ],
      measuredProp.map((c) => {
        const p = c.propagation;
        const label = `${c.group.label}, ${c.workers} workers`;
        if (!p) return [label, c.skipped ? skipped(c) : 'not measured', '', '', '', '', '', '', ''];
        return [
          label,
          String(p.commits),
          `${fixed(p.allWorkersStarted.p50, 1)} / ${fixed(p.allWorkersStarted.p99, 1)}`,
          fixed(p.allWorkers.p50, 1),
          fixed(p.allWorkers.p99, 1),
          fixed(p.allWorkers.max, 1),
          fixed(p.eachWorker.p50, 1),
          fixed(p.rebuildMs.p50, 1),
          fixed(p.rebuildMs.p99, 1),
        ];
      }),
    ),
    '',
    stormSection(channels, s),
    '',
    '## 4. Idle cost',
    '',
    `Token reads by ${s.workers} idle workers over ${s.idleS} s (\`reloader.stats().reads\` from each worker's /__status). Push and request modes run their safety poll every ${s.safetyIntervalMs / 1000} s here (the default is 30 s), so the window sees several. ` +
      'Not counted: the Postgres LISTEN connection’s heartbeat (`SELECT 1` every 15 s per process, on the listening connection) and Redis pings; SQLite reads that `PRAGMA data_version` answers are counted as reads.',
    '',
    table(
      ['mode', 'reads', 'reads/s (all workers)', 'per worker per s', 'per worker per safety interval'],
      channels.map((c) => {
        const i = c.idle;
        if (!i) return [c.group.label, c.skipped ? skipped(c) : 'not measured', '', '', ''];
        return [
          c.group.label,
          String(i.reads),
          fixed(i.readsPerSec, 2),
          fixed(i.readsPerWorkerPerSec, 3),
          i.readsPerWorkerPerSafetyInterval === undefined ? '–' : fixed(i.readsPerWorkerPerSafetyInterval, 2),
        ];
      }),
    ),
  ].join('\n');
}

function scaleSection(scale: ScaleResult): string {
  return [
    '## 5. Scale',
    '',
    `Each binding in a process of its own, with an in-memory store (no database: this is the framework’s build). ${scale.rebuilds} rebuilds per size through the reloader; ` +
      'rebuild is `rebuildRoutes` plus the swap (the reload event’s duration). First and second request: one GET after the last swap, then another (lazy router compilation shows in the first). ' +
      'Heap: what the served build holds (heap after a full GC with the build served, less the heap before the first build). ' +
      "Fastify appears three times: the default `routing: 'instance'` (a fresh Fastify instance per build), the same with `instanceOptions: { exposeHeadRoutes: false }` (Fastify registers no HEAD twin per GET route; HEAD on a dynamic path then gets the app's 404), and `routing: 'light'` (a route table served by the app's request and reply; see the Fastify binding's README for what it gives up).",
    '',
    table(
      [
        'binding',
        'routes',
        'rebuild p50 ms',
        'rebuild max ms',
        'first request ms',
        'second request ms',
        'heap MB',
      ],
      scale.rows.map((r) => [
        r.binding === 'fastify-light'
          ? "fastify, routing: 'light'"
          : r.binding === 'fastify-nohead'
            ? 'fastify, exposeHeadRoutes: false'
            : r.binding,
        whole(r.routes),
        fixed(r.rebuildP50Ms, 2),
        fixed(r.rebuildMaxMs, 2),
        fixed(r.firstRequestMs, 2),
        fixed(r.secondRequestMs, 2),
        fixed(r.heapMb, 2),
      ]),
    ),
  ].join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const parts = [
    '# Benchmarks',
    '',
    `Generated by \`pnpm bench${r.settings.quick ? ' --quick' : ''}\` in ${fixed(r.durationS, 0)} s; the raw numbers are in \`docs/benchmarks.json\`. Do not edit by hand: run it again. ` +
      'What it compares: apphook against the design of django CMS’s apphook reload (one token SELECT on every request, in every process), side by side in one run.',
    '',
    environmentSection(r),
    '',
    targetsSection(r.targets),
  ];
  if (r.hotPath) parts.push('', hotPathSection(r.hotPath));
  if (r.micro) parts.push('', microSection(r.micro));
  if (r.channels) parts.push('', channelSections(r.channels, r.settings.channels));
  if (r.fanOut) parts.push('', fanOutSection(r.fanOut));
  if (r.scale) parts.push('', scaleSection(r.scale));
  if (r.problems.length) {
    parts.push('', '## Problems in this run', '', ...r.problems.map((p) => `- ${p}`));
  }
  if (r.notes.length) {
    parts.push('', '## Notes from this run', '', ...r.notes.map((n) => `- ${n}`));
  }
  parts.push(
    '',
    '## Reading these numbers',
    '',
    '- The machine has two cores. Server, load generator, database and the eight workers share them, so absolute numbers are low and every section is CPU-bound somewhere; the ratios, measured in the same run with variants alternated, are what to compare. When other work runs on the machine (see the load average above), absolute figures can be many times worse than on a quiet one.',
    '- Hot path: `bare` builds the router once and never checks anything; `bare again` is the same server in a second process, so its ratio shows how far two identical servers drift apart in this run (a difference of that size is noise, not cost). `push` and `interval` serve from memory (G7); `request` reads the token before each request but shares one read among concurrent requests; `naive` reads it through the ORM on every request, as django CMS does.',
    '- Which measurement decides the 0.98 targets: a verdict is "met" or "missed" only when the whole 95 % interval lies on one side of 0.98, else "inconclusive". End to end, a 2 % difference needs intervals narrower than the A/A control shows on a shared machine, so the end-to-end verdicts are usually inconclusive. Section 1b measures what apphook adds per request in-process, where bare and apphook alternate every millisecond in one process with a harness of a few microseconds, and sets it against the bare framework’s own server CPU per request over HTTP: bare / (bare + added). A few hundred nanoseconds of uncertainty there moves that ratio by well under 1 %, so it decides; the "hot-path verdict" rows give both and say which one did. On a loaded machine the HTTP scale is inflated (more CPU per request), which flatters the ratio; the in-process ratio, whose denominator lacks the socket and the parser, is the strict bound beside it.',
    '- The SQLite + Redis push gap (earlier runs: push at 0.80–0.94 of bare, its server CPU per request 0.85 of bare’s, while the A/A control was tight) was garbage collection, not apphook and not Redis traffic. Each hot-path server idles through the other variants’ rounds and then takes a one-second burst; V8 sizes the young generation by the recent allocation rate, and at the first scavenge of a burst that rate still looks idle, so it can shrink the young generation from 64 MB to 2–4 MB, where it stays for the rest of the burst (it regrows only as survivors accumulate, over many seconds). Such a server scavenges 10–20 times as often: 13 against 0.7 collections per 1,000 requests, about 9 µs of CPU per request here, the whole gap. Which server falls into it depends on its heap state at the burst: in an A/B run of 6 SQLite servers × 8 rounds (`test/bench/hot-path/ab.ts`, which adds a bare server with the same Redis connections open and apphook push over an in-process notifier) the Redis push server ran shrunk in 8 of 8 rounds, bare in 3, the A/A control, push without Redis and bare with the Redis connections open in 4 each, interval in 2; with the young generation fixed, none in 12 rounds; CPU profiles show no per-request work in the push server that the others lack (ioredis runs only at start-up) and section 1b finds push and interval cost the same in-process. Since this run the servers get a fixed young generation (the size the default grows to under steady load), so every variant is measured at steady state; the GCs column shows whether any server still collected more often than bare. A production server under steady load sits at that steady state; one that idles between bursts can pay the same extra scavenges at the start of each burst, with or without apphook.',
    '- Propagation and storm: every worker rebuilds after every change it sees, so eight rebuilds compete for two cores after each commit; `rebuild p99` shows that queueing. ' +
      'These sections use a smaller site than the hot path, so that eight workers’ rebuilds after each commit fit on two cores and the run stays within its time budget; what they measure is how a commit travels, not how big the router is (that is section 5).',
    '',
    `Run it: \`pnpm bench\` (this run took ${fixed(r.durationS / 60, 0)} minutes; it prints its duration at the end; writes this file and benchmarks.json), or \`pnpm bench --quick\` (about 2 minutes on a quiet machine, smaller counts, writes to a temporary folder unless \`--out\` is given; the test suite runs it). \`APPHOOK_BENCH_RELOADER_OPTIONS='{"minRebuildIntervalMs":50}'\` passes reloader options to the propagation and storm workers by name.`,
    '',
  );
  return parts.join('\n');
}
