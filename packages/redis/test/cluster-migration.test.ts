import { recordingListener, waitFor } from '@apphook/test-suite/notifier';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, type RedisNotifier, redisNotifier } from '../src/index.js';
import { OwnCluster, sleep, unique } from './helpers.js';

/**
 * Issue 13, suspected: "a Redis Cluster slot migration without a node leaving may leave a sharded channel
 * unsubscribed". A real three-master cluster of this file's own; the slot of a subscribed sharded channel
 * moves to another master (CLUSTER SETSLOT … NODE on every master, as `redis-cli --cluster reshard` ends),
 * no node leaves, and a hint published afterwards must still arrive.
 */
describe('Redis Cluster slot migration (sharded pub/sub)', () => {
  let cluster: OwnCluster;
  const disconnect: Array<{ disconnect(): void }> = [];
  let notifier: RedisNotifier | undefined;

  beforeAll(async () => {
    cluster = await OwnCluster.start();
  });
  afterAll(async () => {
    await notifier?.close();
    for (const c of disconnect) c.disconnect();
    await cluster?.stop();
  });

  const node = (port: number) => {
    const c = new Redis(port, '127.0.0.1');
    c.on('error', () => {});
    disconnect.push(c);
    return c;
  };

  it('a sharded channel whose slot moves to another master: reloaders re-read, and hints keep arriving', async () => {
    const prefix = `${unique('migrate')}:`;
    const scope = 'pages';
    const channel = `${prefix}${scope}`;
    const client = new Cluster(cluster.startupNodes, { clusterRetryStrategy: () => 200 });
    client.on('error', () => {});
    disconnect.push(client);
    notifier = redisNotifier({ client, prefix, heartbeatMs: 1000, logger: false });
    const listener = recordingListener(15_000);
    await notifier.subscribe(scope, listener);
    expect(notifier.stats()).toMatchObject({ sharded: true, state: 'up' });

    const admins = cluster.nodes.map((n) => node(n.port));
    const slot = Number(await admins[0]!.call('CLUSTER', 'KEYSLOT', channel));
    const ids = await Promise.all(admins.map((a) => a.call('CLUSTER', 'MYID') as Promise<string>));
    const owner = await ownerOf(admins, slot);
    const to = (owner + 1) % admins.length;
    // Move the (keyless) slot: importing on the target, migrating on the source, then assign it everywhere.
    await admins[to]!.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[owner]!);
    await admins[owner]!.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[to]!);
    for (const i of [to, owner, ...admins.keys()])
      await admins[i]!.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to]!);
    await waitFor(async () => (await ownerOf(admins, slot)) === to, 'the slot to move', 10_000);
    await cluster.untilHealthy();

    // The move was a gap (a hint published meanwhile may be lost): the listener is told, then re-reads (G9).
    await listener.until(
      () => listener.events.some((e) => e.type === 'down') && listener.events.at(-1)?.type === 'resync',
      'down() then resync() after the slot moved',
    );
    // And the channel is subscribed on its new owner: a hint published now arrives.
    const publisher = new Cluster(cluster.startupNodes);
    publisher.on('error', () => {});
    disconnect.push(publisher);
    let version = 0;
    await waitFor(
      async () => {
        await publisher.spublish(channel, encodeMessage(scope, ++version));
        await sleep(200);
        return listener.hints(scope) >= 1;
      },
      `a hint on ${channel} after slot ${slot} moved from node ${owner} to node ${to}`,
      15_000,
      10,
    );
    expect(notifier.stats()).toMatchObject({ state: 'up', drops: 1, resyncs: 1 });
  }, 90_000);
});

async function ownerOf(admins: Redis[], slot: number): Promise<number> {
  const ports = admins.map((a) => a.options.port);
  const shards = (await admins[0]!.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  const range = shards.find(([from, to]) => slot >= from && slot <= to);
  return ports.indexOf(range?.[2][1]);
}
