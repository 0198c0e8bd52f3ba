import { runChannelModel } from '@apphook/test-suite/channel-model';
import { FaultProxy } from '@apphook/test-suite/fault-proxy';
import { requireService, services } from '@apphook/test-suite/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, redisNotifier } from '../src/index.js';
import { client, closeClients, countNamed, unique } from './helpers.js';

const available = await requireService('redis');

/**
 * The subscriber hub's invariants (one subscriber connection, a lost connection always comes back and
 * resyncs, each published hint at most once and, after recovery, surely; nothing open after close) over
 * random schedules of faults injected by a TCP proxy in front of the real Redis. See channel-model.ts.
 */
describe.skipIf(!available)('subscriber hub model (random fault schedules, real Redis)', () => {
  let proxy: FaultProxy;
  const admin = () => client();
  let publisher: ReturnType<typeof client>;
  let name = '';
  let prefix = '';

  beforeAll(async () => {
    const target = new URL(services.redis);
    proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    publisher = admin();
  });
  afterAll(async () => {
    await closeClients();
    await proxy?.close();
  });

  it('keeps its invariants under random drops, blackholes, refusals, slow links and subscriptions', async () => {
    const runs = await runChannelModel({
      name: 'redis subscriber hub',
      proxy,
      runs: 15,
      open: () => {
        name = unique('model');
        prefix = `${name}:`;
        const notifier = redisNotifier({
          // lazyConnect: only the subscriber connection (a duplicate) goes through the proxy.
          client: client({ lazyConnect: true, connectionName: name }, proxy.url(services.redis)),
          prefix,
          subscribeTimeoutMs: 1500,
          heartbeatMs: 1000,
          logger: false,
        });
        return {
          subscribe: (scope, listener) => notifier.subscribe(scope, listener),
          close: () => notifier.close(),
          healthy: () => notifier.stats().state === 'up',
        };
      },
      notify: async (scope) => {
        await publisher.publish(`${prefix}${scope}`, encodeMessage(scope, 1));
      },
      connections: () => countNamed(publisher, name),
    });
    expect(runs).toBeGreaterThan(0);
  }, 180_000);
});
