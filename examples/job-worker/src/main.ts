/**
 * A job worker that needs the current routes to build links, kept current by apphook.
 *
 *   pnpm --filter @apphook/example-job-worker start    # the story, with every e-mail printed
 *   pnpm --filter @apphook/example-job-worker check    # the same story as a self-test: asserts the links, exits
 *
 * This process plays the CMS: it edits the `pages` table of an SQLite file in a temp folder, and
 * `watchEntities` bumps the version inside each edit's transaction. `worker.ts` runs in another process with no
 * HTTP server: it renders a digest e-mail with links to the pages and picks every committed edit up by polling.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { watchEntities } from '@apphook/sqlite';
import type { EntityManager } from '@mikro-orm/core';
import { createSchema, openDatabase, Page, SCOPE } from './db.js';
import type { FromWorker, ToWorker } from './worker.js';

const check = process.argv.includes('--check');
const log = (line: string) => console.log(`[job-worker] ${line}`);

const dir = mkdtempSync(join(tmpdir(), 'apphook-job-worker-'));
const db = await openDatabase(join(dir, 'cms.sqlite'));
// No reloader in this process: every flush that touches a Page bumps the scope in its own transaction (G1).
watchEntities(db.orm, { entities: [Page], store: db.store, scope: SCOPE });
await createSchema(db);

const worker = startWorker(join(dir, 'cms.sqlite'));
let failed = false;
let cleaned: Promise<void> | undefined;
const cleanup = () => {
  cleaned ??= (async () => {
    await worker.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaned;
};
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  void cleanup().finally(() => process.exit(0));
});

try {
  const ready = await worker.next('ready');
  log(`worker pid ${worker.child.pid} started on routes version ${ready.version}`);
  await job('at start', ['/pricing', '/changelog', '/careers']);

  await edit('rename /pricing to /plans', async (em) => {
    const page = await em.findOneOrFail(Page, { key: 'pricing' });
    page.path = '/plans';
    page.title = 'Plans';
  });
  await job('after the rename', ['/plans', '/changelog', '/careers']);

  await edit('add /events', async (em) => {
    em.create(Page, { key: 'events', path: '/events', title: 'Events' });
  });
  await edit('remove /careers', async (em) => {
    em.remove(await em.findOneOrFail(Page, { key: 'careers' }));
  });
  await job('after adding and removing', ['/plans', '/changelog', '/events']);

  // An edit that rolls back bumps nothing: the worker never rebuilds from rows that were not committed.
  const before = await db.store.read(SCOPE);
  const reloadsBefore = worker.messages.filter((m) => m.type === 'reload').length;
  await db.orm.em
    .fork()
    .transactional(async (em) => {
      const page = await em.findOneOrFail(Page, { key: 'changelog' });
      page.path = '/news';
      await em.flush();
      throw new Error('editor cancelled');
    })
    .catch((error: unknown) => {
      if (!(error instanceof Error && error.message === 'editor cancelled')) throw error;
    });
  await new Promise((resolve) => setTimeout(resolve, 1000)); // four polls
  const after = await db.store.read(SCOPE);
  log(`▸ rename /changelog to /news, then roll back: the version stays ${after}`);
  expect(after === before, `the version moved from ${before} to ${after} on a rollback`);
  const reloadsAfter = worker.messages.filter((m) => m.type === 'reload').length;
  expect(reloadsAfter === reloadsBefore, 'the worker rebuilt after a rollback');
  await job('after the rollback', ['/plans', '/changelog', '/events']);

  log(`worker rebuilt its link table ${reloadsAfter} times and rendered every job without a query`);
} catch (error) {
  failed = true;
  // After Ctrl-C the stopped worker fails whatever was waiting on it: nothing to report.
  if (!interrupted) console.error(`[job-worker] ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await cleanup();
}
if (failed) process.exitCode = 1;
else if (check) log('check passed');

/** One editor action in one transaction; resolves once the worker serves the committed version. */
async function edit(label: string, change: (em: EntityManager) => Promise<void>): Promise<void> {
  const started = performance.now();
  await db.orm.em.fork().transactional(change);
  const version = await db.store.read(SCOPE);
  log(`▸ ${label}: committed version ${version}`);
  // The worker learns about it from its next poll (every 250 ms), not from this process.
  await worker.next('reload', (m) => m.to >= version, 10_000);
  log(`  worker serves version ${version} after ${(performance.now() - started).toFixed(0)} ms`);
}

/** Sends a digest job to the worker and checks the links it rendered. */
async function job(label: string, paths: string[]): Promise<void> {
  const result = await worker.job('reader@example.com');
  const got = result.urls.map((url) => new URL(url).pathname);
  log(`  digest ${label} (version ${result.version}): ${got.join(' ')}`);
  if (!check) console.log(`${result.text.replace(/^/gm, '    | ')}\n`);
  expect(got.join(' ') === paths.join(' '), `expected links ${paths.join(' ')}, got ${got.join(' ')}`);
}

function expect(ok: boolean, message: string): void {
  if (!ok) throw new Error(`check failed: ${message}`);
}

type Message<K extends FromWorker['type']> = Extract<FromWorker, { type: K }>;

interface WorkerHandle {
  child: ChildProcess;
  messages: FromWorker[];
  /** The first message of `type` (already received or the next) that `match` accepts. */
  next<K extends FromWorker['type']>(
    type: K,
    match?: (m: Message<K>) => boolean,
    timeoutMs?: number,
  ): Promise<Message<K>>;
  job(recipient: string): Promise<Message<'done'>>;
  stop(): Promise<void>;
}

/** Starts worker.ts in its own Node process (with the tsx loader, as `pnpm start` runs this file). */
function startWorker(file: string): WorkerHandle {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [], {
    execArgv: ['--import', tsx, '--conditions=@apphook/source'],
    env: { ...process.env, JOB_WORKER_DB: file },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const messages: FromWorker[] = [];
  const waiters = new Set<(m: FromWorker) => void>();
  child.on('message', (message: FromWorker) => {
    messages.push(message);
    if (message.type === 'failed') console.error(`[job-worker] worker: ${message.message}`);
    for (const waiter of waiters) waiter(message);
  });
  let nextId = 0;
  const handle: WorkerHandle = {
    child,
    messages,
    next<K extends FromWorker['type']>(
      type: K,
      match: (m: Message<K>) => boolean = () => true,
      timeoutMs = 20_000,
    ) {
      const accepts = (m: FromWorker): m is Message<K> => m.type === type && match(m as Message<K>);
      const seen = messages.find(accepts);
      if (seen) return Promise.resolve(seen);
      return new Promise<Message<K>>((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        const waiter = (m: FromWorker) => {
          if (!accepts(m)) return;
          finish();
          resolve(m);
        };
        const fail = (error: Error) => {
          finish();
          reject(error);
        };
        const timer = setTimeout(
          () => fail(new Error(`the worker sent no '${type}' message within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.add(waiter);
        void exited.then(() => fail(new Error(`the worker exited with code ${child.exitCode}`)));
      });
    },
    async job(recipient) {
      const id = ++nextId;
      child.send({ type: 'job', id, recipient } satisfies ToWorker);
      return handle.next('done', (m) => m.id === id);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' } satisfies ToWorker);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return handle;
}
