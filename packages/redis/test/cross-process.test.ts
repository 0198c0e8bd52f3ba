import { callbackBinding, createReloader, type Reloader } from '@apphook/core';
import { countingStore, waitFor } from '@apphook/test-suite/notifier';
import { requireService } from '@apphook/test-suite/services';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type RedisNotifier, type RedisNotifierOptions, redisNotifier } from '../src/index.js';
import { client, closeClients, unique } from './helpers.js';

const up = await requireService('redis');

/**
 * Two "processes": each has its own ioredis client, its own notifier (so its own subscriber connection)
 * and its own reloader. They share only the store, which has no push of its own, and polling is off in
 * effect (a minute, ten minutes): the only way a commit in one reaches the other is through Redis.
 */
describe.skipIf(!up)(
  'a commit in one process reaches another through Redis, with polling effectively off',
  () => {
    const reloaders: Reloader[] = [];
    const notifiers: RedisNotifier[] = [];

    afterEach(async () => {
      for (const r of reloaders.splice(0)) await r.stop();
      for (const n of notifiers.splice(0)) await n.close();
    });
    afterAll(closeClients);

    async function startProcess(
      store: ReturnType<typeof countingStore>,
      scope: string,
      options: Omit<RedisNotifierOptions, 'client'>,
    ): Promise<Reloader> {
      const notifier = redisNotifier({
        client: client({ connectionName: unique('process') }),
        logger: false,
        ...options,
      });
      notifiers.push(notifier);
      const reloader = createReloader({
        store,
        notifier,
        binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
        scope,
        mode: 'push',
        intervalMs: 60_000,
        safetyIntervalMs: 600_000,
        logger: false,
      });
      reloaders.push(reloader);
      await reloader.start();
      return reloader;
    }

    const variants: Array<[string, () => Omit<RedisNotifierOptions, 'client'>]> = [
      ['one channel per scope', () => ({ prefix: `${unique('xp')}:` })],
      ['one channel for every scope', () => ({ channel: unique('xp-channel') })],
      ['sharded pub/sub', () => ({ prefix: `${unique('xp-sharded')}:`, sharded: true })],
    ];

    for (const [label, options] of variants) {
      it(`${label}: every commit reaches the other process, which ends on the last version`, async () => {
        const store = countingStore();
        const shared = options();
        const a = await startProcess(store, 'routes', shared);
        const b = await startProcess(store, 'routes', shared);
        const elsewhere = await startProcess(store, 'tenant-2', shared);
        const readsBefore = store.reads;

        await store.transaction((tx) => a.markChanged(tx));
        await waitFor(() => b.version === 1, 'process b to serve version 1');

        // A burst from both sides: each ends on the last version (G8), no poll involved.
        for (let i = 0; i < 10; i++) {
          await store.transaction((tx) => (i % 2 === 0 ? a : b).markChanged(tx));
        }
        await waitFor(() => a.version === 11 && b.version === 11, 'both processes on version 11');
        expect(elsewhere.version).toBe(0);
        expect(elsewhere.stats().reads).toBe(1); // its start() read only: hints for other scopes cost nothing
        expect(store.reads - readsBefore).toBeGreaterThan(0);
      });
    }

    it('a keyPrefix on the client is honoured by sharded channels on both sides', async () => {
      const store = countingStore();
      const prefix = `${unique('kp')}:`;
      const keyPrefix = `${unique('key-prefix')}:`;
      const make = async () => {
        const notifier = redisNotifier({
          client: client({ keyPrefix }),
          prefix,
          sharded: true,
          logger: false,
        });
        notifiers.push(notifier);
        const reloader = createReloader({
          store,
          notifier,
          binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
          scope: 'routes',
          mode: 'push',
          intervalMs: 60_000,
          safetyIntervalMs: 600_000,
          logger: false,
        });
        reloaders.push(reloader);
        await reloader.start();
        return reloader;
      };
      const a = await make();
      const b = await make();
      await store.transaction((tx) => a.markChanged(tx));
      await waitFor(() => b.version === 1, 'process b to hear the prefixed sharded channel');
    });
  },
);
