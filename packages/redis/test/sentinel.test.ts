import { callbackBinding, createReloader, type Reloader } from '@apphook/core';
import { countingStore, waitFor } from '@apphook/test-suite/notifier';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisNotifier, redisNotifier } from '../src/index.js';
import { OwnSentinelGroup, unique } from './helpers.js';

/**
 * Sentinel works through the client you pass: the subscriber is its `duplicate()`, so it finds the master
 * through the same Sentinels and, with ioredis's `failoverDetector`, follows a failover; the reloaders are
 * told down, then re-read at once (G9).
 */
describe('Redis Sentinel', () => {
  let group: OwnSentinelGroup;
  const clients: Redis[] = [];
  const reloaders: Reloader[] = [];
  const notifiers: RedisNotifier[] = [];

  beforeAll(async () => {
    group = await OwnSentinelGroup.start();
  });

  afterAll(async () => {
    for (const r of reloaders.splice(0)) await r.stop();
    for (const n of notifiers.splice(0)) await n.close();
    for (const c of clients.splice(0)) c.disconnect();
    await group?.stop();
  });

  async function startProcess(store: ReturnType<typeof countingStore>, prefix: string) {
    const client = new Redis({ sentinels: group.sentinels, name: group.name, failoverDetector: true });
    client.on('error', () => {});
    clients.push(client);
    const notifier = redisNotifier({ client, prefix, logger: false });
    notifiers.push(notifier);
    const reloader = createReloader({
      store,
      notifier,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
      scope: 'pages',
      mode: 'push',
      intervalMs: 60_000,
      safetyIntervalMs: 600_000,
      logger: false,
    });
    reloaders.push(reloader);
    await reloader.start();
    return { notifier, reloader };
  }

  it('carries commits between processes through the master, and across a failover', async () => {
    const store = countingStore();
    const prefix = `${unique('sentinel')}:`;
    const writer = await startProcess(store, prefix);
    const reader = await startProcess(store, prefix);

    await store.transaction((tx) => writer.reloader.markChanged(tx));
    await waitFor(() => reader.reloader.version === 1, 'version 1 through the Sentinel master');

    await store.commit('pages'); // its hint is lost: only the re-read after the failover can bring it
    await group.failover();
    await waitFor(() => reader.reloader.version === 2, 'the re-read after the failover', 15_000);
    expect(reader.notifier.stats()).toMatchObject({ drops: 1, resyncs: 1 });

    await waitFor(() => writer.notifier.stats().state === 'up', 'the writer side following the new master');
    await waitFor(
      async () =>
        await writer.notifier
          .publish('probe', 0)
          .then(() => true)
          .catch(() => false),
      'the writer client on the new master',
    );
    await store.transaction((tx) => writer.reloader.markChanged(tx));
    await waitFor(() => reader.reloader.version === 3, 'version 3 by push through the new master');
    expect(writer.reloader.version).toBe(3);
  });
});
