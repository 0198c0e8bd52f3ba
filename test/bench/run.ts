/**
 * `pnpm bench [--quick] [--out DIR] [--only hot-path,micro,channels,storm,fan-out,scale] [--bindings hono,...]`
 *
 * Measures, side by side in one run, what apphook costs and buys against django CMS's per-request token read:
 * hot-path overhead, propagation, storm, idle cost and scale. Prints ratios and targets, and writes the results
 * to docs/benchmarks.md and docs/benchmarks.json (a quick run writes to a temporary folder unless --out is given).
 *
 * Exit code: 0 whatever the numbers (a missed target is a result); 1 only on breakage: a server or worker that
 * does not start, wrong responses, a worker that never converges, a run that hangs.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DbKind } from '@apphook/example-pages-site/db';
import { isCI, reachable, services } from '@apphook/test-suite/services';
import { CHANNEL_GROUPS, type ChannelGroup, TWO_WORKER_GROUPS } from './channels/groups.js';
import { type ChannelResult, runChannelGroup } from './channels/run-channels.js';
import { runStorms } from './channels/run-storm.js';
import { runFanOut } from './fan-out/run-fan-out.js';
import { runHotPath } from './hot-path/run-hot-path.js';
import { describeEnvironment } from './lib/environment.js';
import type { MicroBinding } from './micro/apps.js';
import { MICRO_BINDINGS, runMicro } from './micro/run-micro.js';
import { type BenchResults, type BenchSettings, renderMarkdown } from './report/markdown.js';
import { upgradeOlderStorms } from './report/storm.js';
import { evaluateTargets } from './report/targets.js';
import { runScale } from './scale/run-scale.js';

/**
 * `storm` is part of `channels`; alone it runs only the storm rounds of the Postgres groups (compare before/after a
 * change), or of those of them `--groups` names.
 */
const SECTIONS = ['hot-path', 'micro', 'channels', 'storm', 'fan-out', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    groups: { type: 'string' },
    bindings: { type: 'string' },
    render: { type: 'string' },
    db: { type: 'string' },
    profile: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: true,
});

if (args.help) {
  console.log(
    'pnpm bench [--quick] [--out DIR] [--only hot-path,micro,channels,storm,fan-out,scale] [--groups pg-notify-2w,redis-2w] [--bindings hono,express] [--db postgres|sqlite] [--profile DIR] [--no-pin] [--render results.json]',
  );
  process.exit(0);
}

/** The targets, from a run's measurements: after the run, for a partial write, and again on --render. */
function targetsOf(r: BenchResults): BenchResults['targets'] {
  return evaluateTargets(r.hotPath, r.micro, r.channels, r.scale, r.environment.machine);
}

// --render: rewrite benchmarks.md (targets included) from an existing benchmarks.json (after a wording change), measuring nothing.
if (args.render) {
  const file = resolve(process.env.INIT_CWD ?? process.cwd(), args.render);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  saved.notes ??= [];
  // A report from before the storm rounds: its one storm per group reads as a single round, marked as older.
  upgradeOlderStorms(saved.channels);
  // The targets' wording is code too: evaluate them again from the saved measurements.
  saved.targets = targetsOf(saved);
  writeFileSync(join(dirname(file), 'benchmarks.md'), renderMarkdown(saved));
  console.log(`rendered ${join(dirname(file), 'benchmarks.md')} from ${file}`);
  process.exit(0);
}

const only = (args.only?.split(',').map((s) => s.trim()) ??
  SECTIONS.filter((s) => s !== 'storm')) as Section[];
const unknown = only.filter((s) => !SECTIONS.includes(s));
if (unknown.length) {
  console.error(`--only takes ${SECTIONS.join(', ')}; got ${unknown.join(', ')}`);
  process.exit(2);
}

// `--bindings`: section 1b for these bindings only (a before/after of one binding).
const microBindings = args.bindings?.split(',').map((s) => s.trim()) as MicroBinding[] | undefined;
const unknownBindings = microBindings?.filter((b) => !MICRO_BINDINGS.includes(b)) ?? [];
if (unknownBindings.length) {
  console.error(`--bindings takes ${MICRO_BINDINGS.join(', ')}; got ${unknownBindings.join(', ')}`);
  process.exit(2);
}

const quick = args.quick ?? false;
/** Core's default `minRebuildIntervalMs`: the rebuild spacing the channel workers run with unless told otherwise. */
const CORE_DEFAULT_SPACING_MS = 100;
// autocannon runs in whole seconds (shorter durations still take one), so hot-path durations are integers.
const settings: BenchSettings = quick
  ? {
      quick,
      hotPath: { routes: 200, rounds: 1, durationS: 1, roundsPerProcess: 1, connections: 32 },
      micro: {
        routes: 200,
        rounds: 5,
        batches: 4,
        batchMs: 0.5,
        httpRounds: 1,
        httpDurationS: 1,
        httpWarmup: 200,
        connections: 32,
      },
      fanOut: { reloaders: 40, processes: 2, commits: 3, tenants: 50 },
      channels: {
        workers: 3,
        routes: 50,
        idleS: 2,
        safetyIntervalMs: 1000,
        commits: 10,
        pauseMs: [10, 60],
        spacingMs: CORE_DEFAULT_SPACING_MS,
        stormRounds: 3,
        stormCommits: 100,
        stormMaxMs: 8_000,
      },
      scale: { sizes: [100, 1000], rebuilds: 2 },
    }
  : {
      quick,
      // 12 one-second rounds per variant on 3 sets of processes: many short interleaved rounds, so drift on a
      // shared machine lands on every variant alike and the per-round ratios give a confidence interval.
      hotPath: { routes: 200, rounds: 12, durationS: 1, roundsPerProcess: 4, connections: 32 },
      // In-process: 40 rounds, each keeping every variant's fastest of 8 interleaved ~1 ms batches; the bare
      // framework over HTTP in 5 one-second rounds.
      micro: {
        routes: 200,
        rounds: 40,
        batches: 8,
        batchMs: 1,
        httpRounds: 5,
        httpDurationS: 1,
        httpWarmup: 2000,
        connections: 32,
      },
      fanOut: { reloaders: 1000, processes: 4, commits: 30, tenants: 1000 },
      channels: {
        workers: 8,
        routes: 50,
        idleS: 4,
        safetyIntervalMs: 2000,
        // Isolated commits (each after every worker served the previous one, the rebuild spacing and a random
        // pause): about 230 ms apiece with push, so 100 per group take what 200 commits 20–100 ms apart did,
        // and give a p99 that is the second-worst commit rather than the worst.
        commits: 100,
        pauseMs: [20, 120],
        spacingMs: CORE_DEFAULT_SPACING_MS,
        // 12 rounds of one storm per group (two sets: 5 groups, then 3), each storm 300 commits (about 1 s at
        // 300 commits/s; a round about 8.5 s with the convergence waits, the 1 s poll's most): about four minutes
        // with the workers' start on a quiet machine. Enough rounds for a confidence interval; storms long enough that
        // the workers' rebuild backoff reaches 400-800 ms in each.
        stormRounds: 12,
        stormCommits: 300,
        stormMaxMs: 6_000,
      },
      scale: { sizes: [100, 1000, 10_000], rebuilds: 5 },
    };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// A storm-only run, or one of some bindings, is a before/after comparison: it never replaces the full report in docs/.
const stormOnly = only.includes('storm') && !only.includes('channels');
const outDir = args.out
  ? resolve(process.env.INIT_CWD ?? process.cwd(), args.out)
  : quick || stormOnly || microBindings
    ? mkdtempSync(join(os.tmpdir(), 'apphook-bench-'))
    : join(repoRoot, 'docs');

// A run that hangs is breakage: stop it with a message instead of letting CI time out.
// Generous: a busy shared machine runs everything several times slower (the quick run takes 2 minutes on a quiet one).
const watchdogMs = quick ? 600_000 : 2_700_000;
let section = 'start';
const watchdog = setTimeout(() => {
  console.error(`\n[bench] still running after ${watchdogMs / 1000} s (in ${section}); giving up`);
  writePartial(`the watchdog stopped it after ${watchdogMs / 1000} s`);
  process.exit(1);
}, watchdogMs);
watchdog.unref();

/**
 * A run stopped early (Ctrl-C, SIGTERM, the watchdog) still leaves what it measured, in benchmarks.partial.json and
 * .md beside where the full report would go (never over it), so a long run on a busy machine is not lost.
 */
function writePartial(reason: string): void {
  try {
    results.durationS = Math.round((performance.now() - started) / 100) / 10;
    results.problems.push(
      `run stopped early (${reason}) during '${section}': the sections from there on are missing`,
    );
    results.targets = targetsOf(results);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'benchmarks.partial.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(outDir, 'benchmarks.partial.md'), renderMarkdown(results));
    console.error(`[bench] wrote what was measured to ${join(outDir, 'benchmarks.partial.md')}`);
  } catch (error) {
    console.error(`[bench] could not write the partial results: ${String(error)}`);
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    writePartial(`${signal}`);
    process.exit(130);
  });
}

const started = performance.now();
const log = (line: string) => console.log(line);
const problems: string[] = [];
/** Things worth knowing that are not breakage (a channel that dropped and recovered under load). */
const notes: string[] = [];

async function service(name: 'postgres' | 'redis'): Promise<string | undefined> {
  if (await reachable(services[name])) return services[name];
  const message = `[bench] ${name} is not reachable at ${services[name]}`;
  if (isCI) {
    problems.push(`${message} (CI=true: an unreachable server is a failure)`);
  } else {
    console.warn(`${message}; the parts that need it are not measured.`);
  }
  return undefined;
}

const postgres = await service('postgres');
const redis = await service('redis');
const environment = await describeEnvironment({ postgres, redis });
console.log(
  `apphook bench${quick ? ' --quick' : ''}: ${environment.machine.cpu}, ${environment.machine.cores} cores, ${environment.machine.memoryGb} GB, load ${environment.machine.loadAverageStart}; node ${process.version}\n`,
);

const results: BenchResults = {
  environment,
  settings,
  durationS: 0,
  targets: [],
  problems,
  notes,
};

/** Extra reloader options for the channel workers, by name (an option a newer core may have), e.g. '{"minRebuildIntervalMs":50}'. */
const reloaderOptions = process.env.APPHOOK_BENCH_RELOADER_OPTIONS
  ? (JSON.parse(process.env.APPHOOK_BENCH_RELOADER_OPTIONS) as Record<string, unknown>)
  : undefined;
if (reloaderOptions)
  notes.push(`channel workers ran with APPHOOK_BENCH_RELOADER_OPTIONS=${JSON.stringify(reloaderOptions)}`);
// Propagation waits out the workers' rebuild spacing between commits, so it must know the one they run with.
if (typeof reloaderOptions?.minRebuildIntervalMs === 'number')
  settings.channels.spacingMs = reloaderOptions.minRebuildIntervalMs;

const dbs: DbKind[] = (postgres ? ['postgres', 'sqlite'] : ['sqlite']).filter(
  (db): db is DbKind => !args.db || args.db.split(',').includes(db),
) as DbKind[];

/** Workers' reloader errors: a rebuild or start that fails is breakage; a channel that dropped under load and recovered is not. */
function reportReloaderErrors(groupId: string, errors: ChannelResult['reloaderErrors']): void {
  for (const [phase, { count, first }] of Object.entries(errors)) {
    const line = `${groupId}: workers reported ${count} reloader error(s) in phase '${phase}', first: ${first}`;
    if (['rebuild', 'start', 'hook'].includes(phase)) problems.push(line);
    else notes.push(line);
  }
}

async function guarded(name: string, run: () => Promise<void>): Promise<void> {
  section = name;
  const t = performance.now();
  console.log(`== ${name}`);
  try {
    await run();
  } catch (error) {
    problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    console.error(
      `[bench] ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  console.log(`   (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
}

if (only.includes('hot-path')) {
  await guarded('1. hot-path overhead', async () => {
    results.hotPath = await runHotPath({
      dbs,
      ...settings.hotPath,
      // The quick run has one round per variant: a smoke test, not a measurement worth warming up for.
      warmupRequests: quick ? 0 : 2000,
      pin: !args['no-pin'],
      profileDir: args.profile ? resolve(process.env.INIT_CWD ?? process.cwd(), args.profile) : undefined,
      redisUrl: redis,
      log,
    });
    problems.push(...results.hotPath.problems);
  });
}

if (only.includes('micro')) {
  await guarded('1b. per-request cost, in-process', async () => {
    results.micro = await runMicro({
      ...settings.micro,
      // The request-mode rows on real stores open MikroORM in the parent and the Express child: not in --quick.
      stores: quick ? [] : postgres ? ['postgres', 'sqlite'] : ['sqlite'],
      ...(microBindings ? { bindings: microBindings } : {}),
      log,
    });
    problems.push(...results.micro.problems);
  });
}

/** `--groups`: only these channel groups (by id), e.g. the 2-worker propagation runs on their own. */
function selectedGroups(): ChannelGroup[] {
  const all = [...CHANNEL_GROUPS, ...TWO_WORKER_GROUPS];
  const wanted = args.groups?.split(',').map((g) => g.trim());
  const groups = all.filter((g) => !wanted || wanted.includes(g.id));
  if (wanted && groups.length < wanted.length) {
    throw new Error(`--groups takes ${all.map((g) => g.id).join(', ')}; got ${args.groups}`);
  }
  return groups;
}

/**
 * Section 3: the storm rounds of `groups` (every group's workers at once, channels/run-storm.ts), into the
 * group's entry in `channels` (added when the group has none: a storm-only run).
 */
async function stormRounds(
  groups: ChannelGroup[],
  channels: ChannelResult[],
  startTimeoutMs: number,
): Promise<void> {
  if (groups.length === 0 || settings.channels.stormCommits <= 0) return;
  // One set after the other (stormSet in channels/groups.ts): each set's groups storm in the same rounds as its
  // own baseline, and only one set's workers are alive at a time.
  const sets = [...new Set(groups.map((g) => g.stormSet ?? 1))].sort((a, b) => a - b);
  for (const set of sets) {
    const members = groups.filter((g) => (g.stormSet ?? 1) === set);
    if (sets.length > 1) log(`  storm set ${set}: ${members.map((g) => g.id).join(', ')}`);
    await stormSet(members, channels, startTimeoutMs);
  }
}

/** The storm rounds of one set of groups. */
async function stormSet(
  groups: ChannelGroup[],
  channels: ChannelResult[],
  startTimeoutMs: number,
): Promise<void> {
  section = 'storm rounds';
  const t = performance.now();
  const run = await runStorms(groups, {
    ...settings.channels,
    stormRounds: settings.channels.stormRounds ?? 1,
    reloaderOptions,
    redisUrl: redis,
    startTimeoutMs,
    log,
  });
  log(`  storm rounds (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  problems.push(...run.problems);
  for (const g of run.groups) {
    reportReloaderErrors(`${g.group.id} (storm)`, g.reloaderErrors);
    let entry = channels.find((c) => c.group.id === g.group.id);
    if (!entry) {
      entry = {
        group: g.group,
        workers: g.workers,
        reloaderErrors: {},
        ...(g.skipped ? { skipped: g.skipped } : {}),
      };
      channels.push(entry);
    }
    if (g.storm) entry.storm = g.storm;
    else if (g.skipped && !entry.skipped) notes.push(`${g.group.id}: storm ${g.skipped}`);
  }
}

if (only.includes('channels')) {
  await guarded('2-4. propagation, storm and idle cost', async () => {
    const channels: ChannelResult[] = [];
    results.channels = channels;
    const groups = selectedGroups();
    for (const group of groups) {
      if (!group.propagation && group.idle === false) continue; // a storm baseline only (poll-1s-2)
      if (group.db === 'postgres' && !postgres) {
        channels.push({ group, workers: 0, skipped: 'PostgreSQL is not reachable', reloaderErrors: {} });
        continue;
      }
      section = `channels: ${group.id}`;
      const t = performance.now();
      try {
        const result = await runChannelGroup(group, {
          ...settings.channels,
          reloaderOptions,
          redisUrl: redis,
          log,
        });
        log(`  ${group.id.padEnd(12)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
        reportReloaderErrors(group.id, result.reloaderErrors);
        channels.push(result);
      } catch (error) {
        problems.push(`${group.id}: ${error instanceof Error ? error.message : String(error)}`);
        channels.push({
          group,
          workers: group.workers ?? settings.channels.workers,
          skipped: 'failed (see problems)',
          reloaderErrors: {},
        });
      }
    }
    // The storms run after every group's idle and propagation parts, with every storm group's workers at
    // once: these parts stay measured one group at a time, without other groups' workers beside them.
    const storms = groups.filter(
      (g) =>
        g.storm && (g.db !== 'postgres' || postgres) && !channels.find((c) => c.group.id === g.id)?.skipped,
    );
    // 40 workers start on 2 cores here: give them the storm-only run's time.
    await stormRounds(storms, channels, 180_000);
  });
}

if (stormOnly) {
  await guarded('3. storm only (Postgres groups, in rounds; no idle, no propagation)', async () => {
    const channels: ChannelResult[] = [];
    results.channels = channels;
    if (!postgres) {
      notes.push('storm: not measured, PostgreSQL is not reachable');
      return;
    }
    const groups = selectedGroups()
      .filter((g) => g.storm && g.db === 'postgres')
      .map((g) => ({ ...g, idle: false, propagation: false }));
    // A before/after comparison often runs on a busy machine: give workers time to start.
    await stormRounds(groups, channels, 180_000);
  });
}

if (only.includes('fan-out')) {
  await guarded('6. fan-out and tenants', async () => {
    if (!postgres) {
      notes.push('fan-out and tenants: not measured, PostgreSQL is not reachable');
      return;
    }
    results.fanOut = await runFanOut({ ...settings.fanOut, redisUrl: redis, log });
    problems.push(...results.fanOut.problems);
  });
}

if (only.includes('scale')) {
  await guarded('5. scale', async () => {
    results.scale = await runScale({ ...settings.scale, log });
    problems.push(...results.scale.problems);
  });
}

environment.machine.loadAverageEnd = Math.round(os.loadavg()[0]! * 100) / 100;
results.durationS = Math.round((performance.now() - started) / 100) / 10;
results.targets = targetsOf(results);

console.log('== targets (measured in this run)');
for (const t of results.targets) {
  const mark = { met: 'met   ', missed: 'MISSED', inconclusive: 'unsure', 'not measured': 'n/a   ' }[
    t.status
  ];
  console.log(`  ${mark} ${t.target}: ${t.measured} (${t.bound})${t.note ? `\n         ${t.note}` : ''}`);
}

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'benchmarks.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(outDir, 'benchmarks.md'), renderMarkdown(results));
console.log(`\nwrote ${join(outDir, 'benchmarks.md')} and benchmarks.json in ${results.durationS} s`);

if (problems.length) {
  console.error(`\n${problems.length} problem(s):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
process.exit(0);
