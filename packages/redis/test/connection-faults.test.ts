import {
  callbackBinding,
  createReloader,
  type HintListener,
  type Reloader,
  type ReloaderErrorEvent,
} from '@apphook/core';
import { countingStore, recordingListener, waitFor } from '@apphook/test-suite/notifier';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisNotifier, redisNotifier } from '../src/index.js';
import { client, closeClients, freePort, OwnRedis, unique } from './helpers.js';

/**
 * Faults on a redis-server of this file's own (the shared one is never stopped): a stop and restart, a
 * CLIENT KILL of the subscriber, a connection that stops answering. Store: one in-memory store shared by
 * every reloader, with no native push, so only Redis or a poll can move a reloader.
 */
describe('connection faults on an own redis-server (G9)', () => {
  let server: OwnRedis;
  const reloaders: Reloader[] = [];
  const notifiers: RedisNotifier[] = [];

  beforeAll(async () => {
    server = await OwnRedis.start();
  });

  afterEach(async () => {
    for (const r of reloaders.splice(0)) await r.stop();
    for (const n of notifiers.splice(0)) await n.close();
    await closeClients();
    await server.start().catch(() => {}); // a test that failed mid-outage leaves it stopped
  });

  afterAll(async () => {
    await server.stop();
  });

  function notifier(options: { heartbeatMs?: number } = {}): RedisNotifier {
    const n = redisNotifier({
      client: client({ connectionName: unique('fault') }, server.url),
      prefix: 'faults:',
      publishTimeoutMs: 500,
      logger: false,
      ...options,
    });
    notifiers.push(n);
    return n;
  }

  async function reloader(
    store: ReturnType<typeof countingStore>,
    n: RedisNotifier,
    scope: string,
    intervalMs: number,
  ): Promise<Reloader & { errors: ReloaderErrorEvent[] }> {
    const r = createReloader({
      store,
      notifier: n,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
      scope,
      mode: 'push',
      intervalMs,
      jitterMs: 0,
      safetyIntervalMs: 600_000,
      logger: false,
    });
    const errors: ReloaderErrorEvent[] = [];
    r.on('error', (event) => errors.push(event));
    reloaders.push(r);
    await r.start();
    return Object.assign(r, { errors });
  }

  it('Redis stopped and restarted: reloaders go down, publishes fail fast, and all end on the last version', async () => {
    const store = countingStore();
    const n1 = notifier();
    const n2 = notifier();
    const writer = await reloader(store, n1, 'pages', 60_000);
    const reader = await reloader(store, n2, 'pages', 60_000);
    const other = await reloader(store, n2, 'menus', 60_000);

    await store.transaction((tx) => writer.markChanged(tx));
    await waitFor(() => reader.version === 1, 'the reader to get version 1 through Redis');

    await server.stop();
    await waitFor(() => n1.stats().state === 'down' && n2.stats().state === 'down', 'both notifiers down');
    await waitFor(() => !reader.stats().channelsHealthy && !other.stats().channelsHealthy, 'reloaders told');
    expect(reader.errors).toContainEqual(expect.objectContaining({ phase: 'channel' }));

    // Commits while Redis is down: they commit, and their publishes reject (at once while the client is
    // 'reconnecting', within publishTimeoutMs while it is trying to connect) instead of waiting for Redis.
    // Redis only comes back further down, so all of this settling at all shows nothing waits for it (a bound
    // on the elapsed time would only measure the machine's load).
    await store.transaction((tx) => writer.markChanged(tx));
    await store.transaction(async (tx) => {
      await writer.markChanged(tx);
      await other.markChanged(tx);
    });
    await expect(n1.publish('pages', 3)).rejects.toMatchObject({ code: 'E_CONNECTION' });
    await waitFor(() => writer.errors.some((e) => e.phase === 'publish'), 'the failed publish reported');
    expect(writer.version).toBe(3); // the writer serves its own commits either way
    expect(reader.version).toBe(1); // intervalMs is a minute: nothing moves it while Redis is down

    await server.start();
    // On reconnect every reloader re-reads at once: the publishes lost during the outage are recovered.
    await waitFor(() => reader.version === 3 && other.version === 1, 'reloaders to converge after restart');
    await waitFor(() => n2.stats().state === 'up' && reader.stats().channelsHealthy, 'healthy again');
    expect(n2.stats()).toMatchObject({ drops: 1, resyncs: 1 });

    // And push works again (resubscribed): a new commit reaches the reader through Redis.
    await waitFor(() => n1.stats().state === 'up' && writer.stats().channelsHealthy, 'the writer side up');
    await waitFor(
      async () =>
        await n1
          .publish('warmup', 0)
          .then(() => true)
          .catch(() => false),
      'client back',
    );
    await store.transaction((tx) => writer.markChanged(tx));
    await waitFor(() => reader.version === 4, 'version 4 through Redis after the restart');
    for (const r of [writer, reader]) expect(r.version).toBe(await store.read('pages'));
    expect(other.version).toBe(await store.read('menus'));
  });

  it('a publish while the client is reconnecting rejects at once instead of waiting in the offline queue', async () => {
    const c = client({}, server.url);
    const n = redisNotifier({ client: c, publishTimeoutMs: 600_000, logger: false });
    notifiers.push(n);
    await n.publish('pages', 1);
    await server.stop();
    await waitFor(() => c.status === 'reconnecting', 'the client to be reconnecting', undefined, 1);
    // Checked synchronously: the status cannot change between the wait above and this call.
    const publishing = n.publish('pages', 2);
    await expect(publishing).rejects.toMatchObject({
      code: 'E_CONNECTION',
      message: expect.stringMatching(
        /Redis at 127\.0\.0\.1:\d+ is unreachable \(client status 'reconnecting'\)/,
      ),
    });
    expect(n.stats()).toMatchObject({ published: 1, publishFailures: 1 });
  });

  it('while Redis is down, reloaders poll at intervalMs and converge without it', async () => {
    const store = countingStore();
    const writer = await reloader(store, notifier(), 'pages', 60_000);
    const reader = await reloader(store, notifier(), 'pages', 100);
    await server.stop();
    await waitFor(() => !reader.stats().channelsHealthy, 'the reader to know the channel is down');
    await store.transaction((tx) => writer.markChanged(tx));
    await store.transaction((tx) => writer.markChanged(tx));
    await waitFor(() => reader.version === 2, 'the reader to poll its way to version 2');
    await server.start();
    await waitFor(() => reader.stats().channelsHealthy, 'healthy after the restart');
  });

  it('CLIENT KILL TYPE pubsub: the subscriber reconnects, resubscribes, and reloaders re-read at once', async () => {
    const store = countingStore();
    const n = notifier();
    const reader = await reloader(store, n, 'pages', 60_000);
    const second = await reloader(store, n, 'menus', 60_000);
    // Commits whose hints were lost (a crash between commit and publish): nothing carries them...
    await store.commit('pages');
    await store.commit('menus');
    expect(reader.version).toBe(0);
    // ...until the subscriber reconnects and every reloader re-reads.
    const admin = client({}, server.url);
    const killed = await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    expect(killed).toBeGreaterThanOrEqual(1);
    await waitFor(() => reader.version === 1 && second.version === 1, 'the re-read after reconnect');
    expect(n.stats()).toMatchObject({ drops: 1, resyncs: 1, state: 'up' });
    // Resubscribed: a fresh publish is heard.
    const writer = await reloader(store, notifier(), 'pages', 60_000);
    await store.transaction((tx) => writer.markChanged(tx));
    await waitFor(() => reader.version === 2, 'version 2 through Redis after the kill');
  });

  it('a connection that stops answering is noticed by the heartbeat and remade', async () => {
    const store = countingStore();
    const n = notifier({ heartbeatMs: 200 });
    const reader = await reloader(store, n, 'pages', 60_000);
    const admin = client({}, server.url);
    await store.commit('pages'); // a lost hint
    await admin.client('PAUSE', '1500', 'ALL'); // every other client hangs: no PONG, no FIN
    await waitFor(() => n.stats().drops === 1, 'the heartbeat to give up on the connection');
    expect(reader.stats().channelsHealthy).toBe(false);
    await waitFor(() => reader.version === 1 && n.stats().state === 'up', 'reconnect and re-read');
    expect(reader.stats().channelsHealthy).toBe(true);
  });

  it('a subscription made while the connection is down is told down() at once and resynced later', async () => {
    const n = notifier();
    const first = recordingListener();
    await n.subscribe('first', first);
    await server.stop();
    await waitFor(() => n.stats().state === 'down', 'the notifier to notice');
    const late = recordingListener();
    await n.subscribe('late', late);
    expect(late.events.map((e) => e.type)).toEqual(['down']);
    expect(n.stats().subscriptions).toBe(2);
    await server.start();
    await waitFor(() => late.events.some((e) => e.type === 'resync'), 'the late listener resynced');
    expect(first.events.map((e) => e.type)).toEqual(['down', 'resync']);
    // The late channel is subscribed for real now.
    const publisher = client({}, server.url);
    await publisher.publish('faults:late', JSON.stringify({ v: 1, scope: 'late', version: 1 }));
    await late.until(() => late.hints('late') === 1, 'a hint on the late scope');
  });

  it('an unreachable Redis makes subscribe() and reloader.start() reject with E_CONNECTION, and leaves nothing open', async () => {
    const port = await freePort();
    const n = redisNotifier({
      client: client({ lazyConnect: true }, `redis://127.0.0.1:${port}`),
      subscribeTimeoutMs: 300,
      logger: false,
    });
    notifiers.push(n);
    const listener: HintListener = recordingListener();
    const error = await n.subscribe('pages', listener).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_CONNECTION' });
    expect(String((error as Error).message)).toContain(`127.0.0.1:${port}`);
    expect(n.stats()).toMatchObject({ state: 'idle', subscriptions: 0, channels: 0 });
    const r = createReloader({
      store: countingStore(),
      notifier: n,
      binding: callbackBinding({ rebuildRoutes: () => ({}) }),
      scope: 'pages',
      logger: false,
    });
    await expect(r.start()).rejects.toMatchObject({ code: 'E_CONNECTION' });
    expect(n.stats().state).toBe('idle');
  });
});
