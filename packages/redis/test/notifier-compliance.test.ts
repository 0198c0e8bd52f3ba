import { runNotifierSuite } from '@apphook/test-suite/notifier';
import { requireService } from '@apphook/test-suite/services';
import type { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { type RedisNotifier, redisNotifier } from '../src/index.js';
import { client, closeClients, countNamed, unique } from './helpers.js';

const up = await requireService('redis');
const admin = up ? client() : undefined;
const names = new WeakMap<RedisNotifier, { name: string; client: Redis }>();

afterAll(closeClients);

function variant(label: string, extra: { channel?: string; prefix?: string; sharded?: boolean }) {
  runNotifierSuite<RedisNotifier>({
    name: `redisNotifier (${label})`,
    skip: !up,
    createNotifier() {
      const name = unique('compliance');
      const c = client({ connectionName: name });
      const notifier = redisNotifier({ client: c, logger: false, ...extra });
      names.set(notifier, { name, client: c });
      return notifier;
    },
    async destroy(notifier) {
      await notifier.close();
      names.get(notifier)?.client.disconnect();
    },
    subscriberConnections: (notifier) => countNamed(admin!, names.get(notifier)!.name),
  });
}

variant('one channel per scope', { prefix: `${unique('prefix')}:` });
variant('one channel for every scope', { channel: unique('channel') });
variant('sharded pub/sub on a standalone Redis 7', { prefix: `${unique('sharded')}:`, sharded: true });
