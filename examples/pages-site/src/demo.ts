/**
 * `pnpm demo`: a site in N worker processes over one database (an SQLite file in a temp folder by default).
 * A scripted admin session changes pages through worker 1; after each step every worker's served version and
 * convergence time are printed. `--keep` leaves it running on http://localhost:3000 with an admin page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DbConfig } from './db.js';
import { openDatabase } from './db.js';
import { type LinkWorker, seedBlog, startLinkWorker } from './demo-blog.js';
import { demoFleetEndpoint } from './demo-fleet.js';
import { spawnWorker, type WorkerHandle } from './spawn.js';
import type { PageChange } from './writer.js';

const { values: args } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    workers: { type: 'string', default: '4' },
    db: { type: 'string', default: 'sqlite' },
    url: { type: 'string' },
    redis: { type: 'string' },
    port: { type: 'string', default: '3000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint(1);
const dim = paint(2);
const green = paint(32);
const yellow = paint(33);
const cyan = paint(36);
const red = paint(31);

if (args.help) {
  console.log(
    `pnpm demo [--workers N] [--db sqlite|postgres|mysql --url URL] [--redis URL] [--keep [--port 3000]]`,
  );
  process.exit(0);
}

const workerCount = Number(args.workers);
if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > 32) {
  console.error(red(`--workers must be a whole number from 1 to 32, got ${args.workers}`));
  process.exit(2);
}
if (!['sqlite', 'postgres', 'mysql'].includes(args.db ?? '')) {
  console.error(red(`--db must be sqlite, postgres or mysql, got ${args.db}`));
  process.exit(2);
}
const kind = args.db as DbConfig['kind'];
if (kind !== 'sqlite' && !args.url) {
  console.error(red(`--db ${kind} needs --url, e.g. --url postgresql://postgres@127.0.0.1:5432/test`));
  process.exit(2);
}

const tempDir = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'apphook-demo-')) : undefined;
const db: DbConfig = {
  kind,
  ...(tempDir ? { file: join(tempDir, 'site.sqlite') } : { url: args.url }),
  pagesTable: 'apphook_demo_pages',
  tokenTable: 'apphook_demo_token',
  channel: 'apphook_demo',
};
const channelName = kind === 'postgres' ? 'Postgres NOTIFY' : args.redis ? 'Redis' : 'polling every 250 ms';

const workers: WorkerHandle[] = [];
let linkWorker: LinkWorker | undefined;
let stopping = false;

async function cleanup(): Promise<void> {
  await Promise.allSettled([...workers.map((w) => w.stop()), linkWorker?.stop()]);
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

// Ctrl-C (and the SIGTERM a package manager forwards) stops the workers and exits quietly.
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  console.log(dim('\nstopping workers...'));
  void cleanup().finally(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGHUP', shutdown);
// Whatever ends the process (a crash, an uncaught error, process.exit anywhere), the temp folder goes with it.
process.on('exit', () => {
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

/** The home page says what the site is; the menu above it (every page of the build, and /admin) is rendered. */
const HOME_BODY = `<p>Every page of this site is a row in a database table, and each worker process serves them as
routes. Change a page on the <a href="/admin">admin page</a>: the change commits in one transaction with a version bump,
and every worker rebuilds its router and serves the new page without a restart. The footer names the worker that
answered and the version of the routes it serves.</p>`;

async function seed(): Promise<void> {
  const database = await openDatabase(db);
  try {
    const em = database.orm.em.fork();
    await em.nativeDelete(database.Page, {});
    for (const [path, title] of [
      ['/', 'Home'],
      ['/about', 'About'],
      ['/blog', 'Blog'],
    ] as const) {
      em.create(database.Page, { path, title, body: path === '/' ? HOME_BODY : `<p>${title}</p>` });
    }
    await em.flush();
    await seedBlog(database);
  } finally {
    await database.close();
  }
}

async function fetchStatus(worker: WorkerHandle, path: string): Promise<number> {
  const res = await fetch(worker.url + path);
  await res.arrayBuffer();
  return res.status;
}

interface StepResult {
  label: string;
  version: number;
  times: number[];
}

async function step(
  label: string,
  changes: PageChange[],
  expect: Record<string, number>,
): Promise<StepResult> {
  const writer = workers[0]!;
  process.stdout.write(`${cyan('▸')} ${label} ${dim('(through worker 1)')}\n`);
  const started = performance.now();
  let version = 0;
  for (const change of changes) version = (await writer.change(change)).version;
  const times = await Promise.all(
    workers.map(async (w) => {
      await w.waitForVersion(version, 15_000);
      return performance.now() - started;
    }),
  );
  for (const [i, w] of workers.entries()) {
    const checks = await Promise.all(
      Object.entries(expect).map(
        async ([path, status]) => [path, status, await fetchStatus(w, path)] as const,
      ),
    );
    const wrong = checks.filter(([, want, got]) => want !== got);
    const mark = wrong.length ? red('✗') : green('✓');
    const detail = wrong.length
      ? red(wrong.map(([p, want, got]) => `${p} ${got} (want ${want})`).join(', '))
      : dim(checks.map(([p, , got]) => `${p} ${got}`).join('  '));
    console.log(
      `  ${mark} worker ${i + 1}  serves version ${bold(String(w.latest()?.version))}  after ${yellow(`${times[i]!.toFixed(0)} ms`)}  ${detail}`,
    );
    if (wrong.length) process.exitCode = 1;
  }
  return { label, version, times };
}

async function keepRunning(): Promise<void> {
  const port = Number(args.port);
  let next = 0;
  const fleet = await demoFleetEndpoint(db, 'demo', args.redis);
  const server = http.createServer((req, res) => {
    if (req.url === '/__fleet') return void fleet.serve(res);
    if (req.url === '/__workers') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          workers.map((w, i) => ({ name: `worker ${i + 1}`, pid: w.process.pid, build: w.latest() })),
        ),
      );
      return;
    }
    // Round robin over the workers, like a load balancer in front of them.
    const target = workers[next++ % workers.length]!;
    const upstream = http.request(
      `${target.url}${req.url}`,
      { method: req.method, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.statusCode = 502;
      res.end('worker unavailable');
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  console.log(
    `\n${bold('The site keeps running:')} http://localhost:${port}/  ${dim('admin:')} http://localhost:${port}/admin`,
  );
  console.log(dim('Requests go round robin over the workers. Ctrl-C stops everything.'));
  await new Promise(() => {});
}

async function main(): Promise<void> {
  const t0 = performance.now();
  console.log(
    `${bold('apphook demo')}  ${workerCount} workers · ${kind}${tempDir ? dim(` (${db.file})`) : ''} · ${channelName}\n`,
  );
  await seed();
  const started = await Promise.all(
    Array.from({ length: workerCount }, (_, i) =>
      spawnWorker({
        name: `worker ${i + 1}`,
        db,
        scope: 'demo',
        ...(kind === 'postgres' || args.redis ? { mode: 'push' as const } : { mode: 'interval' as const }),
        intervalMs: 250,
        ...(args.redis ? { redisUrl: args.redis, redisChannel: 'apphook:demo' } : {}),
        apphooks: true,
        fleet: { heartbeatMs: 1000 }, // every worker announces what it serves (G13)
      }),
    ),
  );
  linkWorker = await startLinkWorker(db, {
    scope: 'demo',
    mode: kind === 'postgres' ? 'push' : 'interval',
    intervalMs: 250,
  });
  workers.push(...started);
  console.log(
    `${green('✓')} ${workerCount} workers serve version ${workers[0]?.latest()?.version} ${dim(`(${(performance.now() - t0).toFixed(0)} ms)`)}\n`,
  );

  const results: StepResult[] = [];
  results.push(
    await step('add page /pricing', [{ op: 'add', path: '/pricing', title: 'Pricing' }], {
      '/pricing': 200,
      '/about': 200,
    }),
  );
  results.push(
    await step(
      'rename /about to /about-us',
      [{ op: 'rename', path: '/about', title: 'About us', newPath: '/about-us' }],
      { '/about-us': 200, '/about': 404 },
    ),
  );
  results.push(
    await step(
      'move blog /news to /journal',
      [{ op: 'rename', path: '/news', title: 'Journal', newPath: '/journal' }],
      { '/journal/hello-world': 200, '/news/hello-world': 404, '/sitemap.xml': 200 },
    ),
  );
  await linkWorker.waitForVersion(results.at(-1)!.version, 15_000);
  const { version: linkVersion, url: link } = linkWorker.link();
  const linkOk = (await Promise.all(workers.map((w) => fetchStatus(w, link)))).every((s) => s === 200);
  console.log(
    `  ${linkOk ? green('✓') : red('✗')} job worker  links to ${bold(link)} from version ${linkVersion}  ${dim('(routed by every worker)')}`,
  );
  if (!linkOk) process.exitCode = 1;
  results.push(await step('remove /blog', [{ op: 'remove', path: '/blog' }], { '/blog': 404, '/': 200 }));
  results.push(
    await step(
      'a burst of 5 changes',
      [
        { op: 'add', path: '/docs', title: 'Docs' },
        { op: 'add', path: '/team', title: 'Team' },
        { op: 'rename', path: '/team', title: 'Our team' },
        { op: 'add', path: '/jobs', title: 'Jobs' },
        { op: 'remove', path: '/jobs' },
      ],
      { '/docs': 200, '/team': 200, '/jobs': 404 },
    ),
  );

  console.log(`\n${bold('Summary')}  ${dim('time from the commit starting until each worker served it')}`);
  console.log(dim(`  ${'step'.padEnd(28)}${'version'.padEnd(9)}${'fastest'.padEnd(10)}slowest`));
  for (const r of results) {
    const sorted = [...r.times].sort((a, b) => a - b);
    console.log(
      `  ${r.label.padEnd(28)}${String(r.version).padEnd(9)}${`${sorted[0]!.toFixed(0)} ms`.padEnd(10)}${sorted.at(-1)!.toFixed(0)} ms`,
    );
  }
  const rebuilds = workers.map((w) => w.builds.length);
  const failures = workers.reduce((n, w) => n + w.errors.length, 0);
  console.log(
    `\n  rebuilds per worker: ${rebuilds.join(', ')}  ·  reloader errors: ${failures}  ·  total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(
    dim(
      '  (rebuilds per worker: how many times each worker built its routes from the table, the first build included;\n' +
        '  changes that arrive while a build runs are coalesced into one rebuild, so it can be lower than the number of changes)',
    ),
  );
  console.log(
    dim(
      `  Every change was bumped in its own transaction; the writer served it when its commit resolved,\n  the other workers after the commit reached them (${channelName}).`,
    ),
  );

  if (args.keep) {
    await keepRunning();
  } else {
    stopping = true;
    await cleanup();
  }
}

main().catch(async (error: unknown) => {
  console.error(red(`demo failed: ${error instanceof Error ? error.message : String(error)}`));
  await cleanup().catch(() => {});
  process.exit(1);
});
