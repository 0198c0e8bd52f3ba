/**
 * One site worker process. Started by `spawnWorker` with its configuration in `APPHOOK_SITE`; reports every
 * build to the parent over IPC and applies page changes the parent asks for.
 */
import type { Reloader } from '@apphook/core';
import type { EntityManager } from '@mikro-orm/core';
import { startSite } from './site.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.js';
import { applyChange, applyChangeNaively } from './writer.js';

const send = (message: FromWorker) => process.send?.(message);
const config = JSON.parse(process.env.APPHOOK_SITE ?? '{}') as WorkerConfig;
const name = config.name ?? `worker ${process.pid}`;

try {
  const site = await startSite({
    ...config,
    name,
    logger: false,
    onBuild: (build) => send({ type: 'build', name, build }),
  });
  site.reloader.on('error', ({ phase, error }) =>
    send({ type: 'reloader-error', name, phase, code: error.code, message: error.message }),
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
        send({ type: 'changed', id: message.id, result });
      } catch (error) {
        send({
          type: 'changed',
          id: message.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  });
  process.on('disconnect', () => {
    void site.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', name, url: site.url, port: site.port, build: site.current() });
} catch (error) {
  send({ type: 'fatal', name, message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
