import { ApphookOptionError } from '@apphook/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisNotifierOptions, redisNotifier } from '../src/index.js';

// A client that never connects: option checks happen before any I/O.
const lazy = new Redis({ lazyConnect: true });
afterAll(() => lazy.disconnect());

function rejects(options: unknown, pattern: RegExp) {
  let thrown: unknown;
  try {
    redisNotifier(options as RedisNotifierOptions);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ApphookOptionError);
  expect(thrown).toMatchObject({ code: 'E_OPTION' });
  expect((thrown as Error).message).toMatch(/^\[apphook\/redis\] /);
  expect((thrown as Error).message).toMatch(pattern);
}

describe('redisNotifier options are checked at construction (G11)', () => {
  it('needs an options object with an ioredis client', () => {
    rejects(undefined, /needs an options object/);
    rejects({}, /client must be an ioredis Redis or Cluster instance/);
    rejects({ client: 'redis://127.0.0.1:6379' }, /new Redis\(url\)/);
    rejects({ client: { publish() {} } }, /client must be an ioredis/);
  });

  it('takes either channel or prefix, not both', () => {
    rejects({ client: lazy, channel: 'a', prefix: 'b:' }, /either channel .* or prefix/);
  });

  it('rejects an empty or overlong channel and a non-string prefix', () => {
    rejects({ client: lazy, channel: '' }, /channel must be a non-empty string/);
    rejects({ client: lazy, channel: 'x'.repeat(257) }, /at most 256/);
    rejects({ client: lazy, prefix: 42 }, /prefix must be a string/);
  });

  it('rejects a maxMessageBytes too small for a valid hint, or not an integer', () => {
    rejects({ client: lazy, maxMessageBytes: 100 }, /maxMessageBytes must be an integer from 512/);
    rejects({ client: lazy, maxMessageBytes: 1024.5 }, /maxMessageBytes/);
  });

  it('rejects bad timeouts and a non-boolean sharded', () => {
    rejects({ client: lazy, publishTimeoutMs: 0 }, /publishTimeoutMs must be a positive number/);
    rejects({ client: lazy, subscribeTimeoutMs: Number.NaN }, /subscribeTimeoutMs/);
    rejects({ client: lazy, heartbeatMs: -1 }, /heartbeatMs must be a non-negative number/);
    rejects({ client: lazy, sharded: 'yes' }, /sharded must be true or false/);
  });

  it('accepts the defaults without touching the network', () => {
    const notifier = redisNotifier({ client: lazy });
    expect(notifier.name).toBe('apphook/redis');
    expect(notifier.stats()).toMatchObject({ state: 'idle', sharded: false, channels: 0, published: 0 });
    expect(lazy.status).toBe('wait');
  });
});
