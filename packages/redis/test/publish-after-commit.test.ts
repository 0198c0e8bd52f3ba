import { callbackBinding, createReloader, type Reloader, type ReloaderErrorEvent } from '@apphook/core';
import { countingStore, waitFor } from '@apphook/test-suite/notifier';
import { requireService } from '@apphook/test-suite/services';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisNotifier, redisNotifier } from '../src/index.js';
import { client, closeClients, sleep, unique } from './helpers.js';

const up = await requireService('redis');

interface Heard {
  channel: string;
  scope: string;
  version: number;
}

describe.skipIf(!up)('publishing after commit (G2), counted on a raw Redis subscriber', () => {
  const prefix = `${unique('after-commit')}:`;
  let raw: Redis;
  const heard: Heard[] = [];
  const reloaders: Reloader[] = [];
  let notifier: RedisNotifier | undefined;
  let store: ReturnType<typeof countingStore>;

  beforeAll(async () => {
    raw = client();
    raw.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const { scope, version } = JSON.parse(message) as Heard;
      heard.push({ channel, scope, version });
    });
    await raw.psubscribe(`${prefix}*`);
  });

  afterEach(async () => {
    for (const r of reloaders.splice(0)) await r.stop();
    await notifier?.close();
    notifier = undefined;
    heard.length = 0;
  });

  afterAll(closeClients);

  async function reloaderOf(scope: string, options: { client?: Redis } = {}) {
    notifier ??= redisNotifier({ client: options.client ?? client(), prefix, logger: false });
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

  /** Commits a bump on a fence scope and waits for its message: anything published before it has arrived. */
  async function fence(): Promise<void> {
    const scope = unique('fence');
    const reloader = await reloaderOf(scope);
    await store.transaction((tx) => reloader.markChanged(tx));
    await waitFor(() => heard.some((h) => h.scope === scope), 'the fence message');
  }

  const on = (scope: string) => heard.filter((h) => h.scope === scope);

  it('publishes nothing when the transaction rolls back', async () => {
    store = countingStore();
    const scope = 'rollback';
    const reloader = await reloaderOf(scope);
    await expect(
      store.transaction(async (tx) => {
        await reloader.markChanged(tx);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await fence();
    expect(on(scope)).toEqual([]);
    expect(await store.read(scope)).toBe(0);
    expect(reloader.version).toBe(0);
  });

  it('publishes nothing after an outer rollback, even when a savepoint with the bump was released', async () => {
    store = countingStore();
    const scope = 'outer-rollback';
    const reloader = await reloaderOf(scope);
    await expect(
      store.transaction(async (tx) => {
        await tx.savepoint((sp) => reloader.markChanged(sp));
        throw new Error('outer rollback');
      }),
    ).rejects.toThrow('outer rollback');
    await fence();
    expect(on(scope)).toEqual([]);
  });

  it('publishes once per root transaction and scope, however often markChanged ran, with the last version', async () => {
    store = countingStore();
    const scope = 'once';
    const reloader = await reloaderOf(scope);
    await store.transaction(async (tx) => {
      await reloader.markChanged(tx);
      await reloader.markChanged(tx);
      await tx.savepoint(async (sp) => {
        await reloader.markChanged(sp);
      });
      await reloader.markChanged(tx);
    });
    await fence();
    expect(on(scope)).toEqual([{ channel: `${prefix}${scope}`, scope, version: 4 }]);
  });

  it('drops the publish of a rolled-back savepoint and keeps the one of the root', async () => {
    store = countingStore();
    const scope = 'savepoint';
    const reloader = await reloaderOf(scope);
    await store.transaction(async (tx) => {
      await tx
        .savepoint(async (sp) => {
          await reloader.markChanged(sp);
          throw new Error('savepoint rolls back');
        })
        .catch(() => {});
      await reloader.markChanged(tx);
    });
    await fence();
    expect(on(scope)).toEqual([{ channel: `${prefix}${scope}`, scope, version: 1 }]);
  });

  it('publishes one message for each scope changed in a transaction', async () => {
    store = countingStore();
    const a = await reloaderOf('scope-a');
    const b = await reloaderOf('scope-b');
    await store.transaction(async (tx) => {
      await a.markChanged(tx);
      await b.markChanged(tx);
      await a.markChanged(tx);
    });
    await fence();
    expect(on('scope-a')).toEqual([{ channel: `${prefix}scope-a`, scope: 'scope-a', version: 2 }]);
    expect(on('scope-b')).toEqual([{ channel: `${prefix}scope-b`, scope: 'scope-b', version: 1 }]);
  });

  it('publishes only once the transaction has committed', async () => {
    store = countingStore();
    const scope = 'not-before-commit';
    const reloader = await reloaderOf(scope);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const committing = store.transaction(async (tx) => {
      await reloader.markChanged(tx);
      await held;
    });
    await sleep(150); // the bump is made and the transaction still open: nothing may be on the wire
    await fence();
    expect(on(scope)).toEqual([]);
    release();
    await committing;
    await waitFor(() => on(scope).length === 1, 'the message after commit');
  });

  it('a publish that fails (client closed) never fails the committed transaction, and is reported', async () => {
    store = countingStore();
    const closedClient = client();
    await closedClient.ping();
    const reloader = await reloaderOf('failing-publish', { client: closedClient });
    const errors: ReloaderErrorEvent[] = [];
    reloader.on('error', (event) => errors.push(event));
    closedClient.disconnect();
    await waitFor(() => closedClient.status === 'end', 'the client to end');
    await store.transaction((tx) => reloader.markChanged(tx));
    expect(await store.read('failing-publish')).toBe(1);
    expect(reloader.version).toBe(1); // this process rebuilt from its own commit
    await waitFor(() => errors.length === 1, 'the publish error event');
    expect(errors[0]).toMatchObject({ phase: 'publish', error: { code: 'E_CONNECTION' } });
    expect(errors[0]?.error.message).toMatch(/ioredis client has ended/);
    expect(notifier?.stats().publishFailures).toBe(1);
  });
});
