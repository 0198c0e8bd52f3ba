/**
 * The job worker: a process with no HTTP server that renders e-mails with links to the current page paths.
 * It never serves a request, so nothing would ever make it reload (django CMS issue 5789); here a reloader
 * with `callbackBinding` polls the token (cheap on SQLite: `PRAGMA data_version`) and rebuilds the link table
 * after every committed change. Jobs read `binding.current`: no query per job.
 */
import { callbackBinding, createReloader } from '@apphook/core';
import { openDatabase, SCOPE } from './db.js';
import { buildLinkTable, type LinkTable, renderDigest } from './links.js';

/** Parent -> worker. */
export type ToWorker = { type: 'job'; id: number; recipient: string } | { type: 'stop' };
/** Worker -> parent. */
export type FromWorker =
  | { type: 'ready'; version: number }
  | { type: 'reload'; from: number | undefined; to: number; durationMs: number }
  | { type: 'done'; id: number; version: number; text: string; urls: string[] }
  | { type: 'failed'; message: string };

const send = (message: FromWorker) => process.send?.(message);
const file = process.env.JOB_WORKER_DB;
if (!file || !process.send) {
  console.error('worker.ts is started by main.ts (it needs JOB_WORKER_DB and an IPC channel)');
  process.exit(2);
}

const db = await openDatabase(file);
const binding = callbackBinding<LinkTable>({
  // A fresh fork per build: reads see the commit that produced `version` (G4).
  rebuildRoutes: ({ version }) => buildLinkTable(db.orm.em.fork(), version),
});
const reloader = createReloader({
  store: db.store,
  binding,
  scope: SCOPE,
  mode: 'interval',
  intervalMs: 250,
});
reloader.on('reload', ({ from, to, durationMs }) => send({ type: 'reload', from, to, durationMs }));
// A failed rebuild keeps the last good link table (G5); say so instead of crashing the worker.
reloader.on('error', ({ phase, error }) => send({ type: 'failed', message: `${phase}: ${error.message}` }));

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  stopping ??= (async () => {
    await reloader.stop();
    await db.close();
    if (process.connected) process.disconnect();
  })();
  return stopping;
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'stop') {
    void stop();
    return;
  }
  const links = binding.current;
  if (!links) {
    send({ type: 'failed', message: `job ${message.id}: no link table yet` });
    return;
  }
  const { text, urls } = renderDigest(links, message.recipient);
  send({ type: 'done', id: message.id, version: links.version, text, urls });
});
// Ctrl-C reaches the whole process group: the parent stops this worker through IPC. If the parent is gone, stop.
process.on('SIGINT', () => {});
process.on('disconnect', () => void stop());

await reloader.start();
send({ type: 'ready', version: binding.version ?? 0 });
