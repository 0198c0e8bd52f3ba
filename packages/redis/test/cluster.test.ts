import { callbackBinding, createReloader, type Reloader } from '@apphook/core';
import { countingStore, waitFor } from '@apphook/test-suite/notifier';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisNotifier, type RedisNotifierOptions, redisNotifier } from '../src/index.js';
import { OwnCluster, unique } from './helpers.js';

/**
 * A real three-master Redis Cluster of this file's own (redis-server processes on free ports), driven
 * through ioredis `Cluster`: sharded pub/sub is chosen by default, spreads the per-scope channels over the
 * shards, and survives a node that dies and comes back.
 */
describe('Redis Cluster', () => {
  let cluster: OwnCluster;
  const clients: Cluster[] = [];
  const reloaders: Reloader[] = [];
  const notifiers: RedisNotifier[] = [];
  const scopes = ['pages', 'menus', 'tenant:1', 'tenant:2', 'tenant:3', 'tenant:4', 'tenant:5', 'tenant:6'];

  beforeAll(async () => {
    cluster = await OwnCluster.start();
  });

  afterEach(async () => {
    for (const r of reloaders.splice(0)) await r.stop();
    for (const n of notifiers.splice(0)) await n.close();
    for (const c of clients.splice(0)) c.disconnect();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  function notifier(options: Omit<RedisNotifierOptions, 'client'>): RedisNotifier {
    const c = new Cluster(cluster.startupNodes, { clusterRetryStrategy: () => 200 });
    c.on('error', () => {});
    clients.push(c);
    const n = redisNotifier({ client: c, logger: false, ...options });
    notifiers.push(n);
    return n;
  }

  async function reloader(store: ReturnType<typeof countingStore>, n: RedisNotifier, scope: string) {
    const r = createReloader({
      store,
      notifier: n,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
      scope,
      mode: 'push',
      intervalMs: 60_000,
      safetyIntervalMs: 600_000,
      logger: false,
    });
    reloaders.push(r);
    await r.start();
    return r;
  }

  /** Which node (by index) holds sharded channels starting with `prefix`. */
  async function shardsHolding(prefix: string): Promise<number[]> {
    const holding: number[] = [];
    for (const [i, node] of cluster.nodes.entries()) {
      const c = new Redis(node.port, '127.0.0.1');
      try {
        const channels = (await c.call('PUBSUB', 'SHARDCHANNELS', `${prefix}*`)) as string[];
        if (channels.length > 0) holding.push(i);
      } finally {
        c.disconnect();
      }
    }
    return holding;
  }

  it('uses sharded pub/sub by default, spreads the scopes over the shards, and carries commits between processes', async () => {
    const store = countingStore();
    const prefix = `${unique('cluster')}:`;
    const a = notifier({ prefix });
    const b = notifier({ prefix });
    const writers = await Promise.all(scopes.map((s) => reloader(store, a, s)));
    const readers = await Promise.all(scopes.map((s) => reloader(store, b, s)));
    expect(b.stats()).toMatchObject({ sharded: true, state: 'up', channels: scopes.length });
    expect((await shardsHolding(prefix)).length).toBeGreaterThanOrEqual(2);

    for (const writer of writers) await store.transaction((tx) => writer.markChanged(tx));
    await waitFor(
      () => readers.every((r) => r.version === 1),
      'every reader on version 1 through the cluster',
    );
  });

  it('a node that dies and comes back: reloaders are told, then re-read, and all end on the last version', async () => {
    const store = countingStore();
    const prefix = `${unique('cluster-fault')}:`;
    const a = notifier({ prefix });
    const b = notifier({ prefix });
    const writers = await Promise.all(scopes.map((s) => reloader(store, a, s)));
    const readers = await Promise.all(scopes.map((s) => reloader(store, b, s)));
    const [victim] = await shardsHolding(prefix);
    const node = cluster.nodes[victim!]!;

    await node.stop();
    await waitFor(() => b.stats().state === 'down', 'the notifier to notice the lost node', 15_000);
    await waitFor(() => readers.every((r) => !r.stats().channelsHealthy), 'every reader told');
    // Commits while the node is gone; their hints are lost or rejected.
    for (const writer of writers) await store.transaction((tx) => writer.markChanged(tx));
    await node.start();
    await cluster.untilHealthy();
    await waitFor(
      () => readers.every((r) => r.version === 1 && r.stats().channelsHealthy),
      'every reader re-read and healthy after the node came back',
      30_000,
    );
    expect(b.stats().resyncs).toBeGreaterThanOrEqual(1);
    // Subscribed again on every shard: fresh commits arrive by push.
    for (const writer of writers) await store.transaction((tx) => writer.markChanged(tx));
    await waitFor(() => readers.every((r) => r.version === 2), 'version 2 everywhere by push', 15_000);
  });

  it('uses classic pub/sub on a Cluster with sharded: false', async () => {
    const store = countingStore();
    const prefix = `${unique('cluster-classic')}:`;
    const a = notifier({ prefix, sharded: false });
    const b = notifier({ prefix, sharded: false });
    const writer = await reloader(store, a, 'pages');
    const reader = await reloader(store, b, 'pages');
    expect(b.stats().sharded).toBe(false);
    await store.transaction((tx) => writer.markChanged(tx));
    await waitFor(() => reader.version === 1, 'the reader on version 1 through classic pub/sub');
  });
});
