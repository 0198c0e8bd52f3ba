/**
 * One site worker process. Started by `spawnWorker` with its configuration in `APPHOOK_SITE`; reports every
 * build to the parent over IPC and applies page changes the parent asks for.
 *
 * The parent (a test, the bench, the demo) may exit first, or drop the channel: then the worker closes its site
 * and exits 0, quietly. A message sent after the channel closed is dropped: `process.send` would otherwise
 * emit ERR_IPC_CHANNEL_CLOSED as an 'error' event, which nobody handles, and the worker would crash with a
 * stack trace in the parent's terminal (a build or a finished change can still report while the site closes).
 */
import type { Reloader } from '@apphook/core';
import type { EntityManager } from '@mikro-orm/core';
import { startSite } from './site.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.js';
import { applyChange, applyChangeNaively } from './writer.js';

/** Resolves once the message was handed to the channel, or at once when there is no channel any more. */
const send = (message: FromWorker): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    // With a callback a failed send reports to it instead of emitting 'error' on the process.
    process.send(message, undefined, {}, () => resolve());
  });
const config = JSON.parse(process.env.APPHOOK_SITE ?? '{}') as WorkerConfig;
const name = config.name ?? `worker ${process.pid}`;
// Heard before the site is up: a parent that leaves during a slow start must not leave an orphan serving HTTP.
let parentGone = false;
process.once('disconnect', () => {
  parentGone = true;
});

try {
  const site = await startSite({
    ...config,
    name,
    logger: false,
    onBuild: (build) => void send({ type: 'build', name, build }),
  });
  site.reloader.on(
    'error',
    ({ phase, error }) =>
      void send({ type: 'reloader-error', name, phase, code: error.code, message: error.message }),
  );
  const reloader = site.reloader as unknown as Reloader<unknown, EntityManager>;
  process.on('message', async (message: ToWorker) => {
    if (message.type === 'stop') {
      await site.close().catch(() => {});
      process.exit(0);
    }
    if (message.type === 'change') {
      try {
        const options = message.holdMs ? { holdMs: message.holdMs } : {};
        const result = message.naive
          ? await applyChangeNaively(site.db, reloader, message.change, options)
          : await applyChange(site.db, reloader, message.change, options);
        void send({ type: 'changed', id: message.id, result });
      } catch (error) {
        void send({
          type: 'changed',
          id: message.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  });
  const leave = () =>
    void site
      .close()
      .catch(() => {})
      .then(() => process.exit(0));
  if (parentGone) leave();
  else {
    process.once('disconnect', leave);
    void send({ type: 'ready', name, url: site.url, port: site.port, build: site.current() });
  }
} catch (error) {
  await send({ type: 'fatal', name, message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
