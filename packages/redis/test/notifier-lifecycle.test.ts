import type { HintListener } from '@apphook/core';
import { recordingListener, waitFor } from '@apphook/test-suite/notifier';
import { requireService } from '@apphook/test-suite/services';
import { afterAll, describe, expect, it } from 'vitest';
import { redisNotifier } from '../src/index.js';
import { client, closeClients, countNamed, unique } from './helpers.js';

const up = await requireService('redis');
afterAll(closeClients);

describe.skipIf(!up)('the notifier owns one subscriber connection, never the client you pass', () => {
  it('does not close or disturb the client it was given', async () => {
    const c = client();
    const notifier = redisNotifier({ client: c, prefix: `${unique('own')}:`, logger: false });
    await notifier.subscribe('pages', recordingListener());
    await notifier.publish('pages', 1);
    await notifier.close();
    expect(c.status).toBe('ready');
    expect(await c.ping()).toBe('PONG');
  });

  it('rejects publish and subscribe after close() with E_STATE', async () => {
    const notifier = redisNotifier({ client: client(), logger: false });
    await notifier.close();
    await expect(notifier.publish('pages', 1)).rejects.toMatchObject({ code: 'E_STATE' });
    await expect(notifier.subscribe('pages', recordingListener())).rejects.toMatchObject({ code: 'E_STATE' });
  });

  it('a subscribe still waiting for the first connection is rejected by close()', async () => {
    const notifier = redisNotifier({ client: client(), prefix: `${unique('closing')}:`, logger: false });
    const pending = notifier.subscribe('pages', recordingListener());
    await notifier.close();
    await expect(pending).rejects.toMatchObject({ code: 'E_STATE' });
  });

  it('a listener that throws does not stop delivery to the others, nor the connection', async () => {
    const errors: string[] = [];
    const notifier = redisNotifier({
      client: client(),
      prefix: `${unique('throws')}:`,
      logger: { warn: () => {}, error: (m) => errors.push(m) },
    });
    const thrower: HintListener = {
      hint() {
        throw new Error('listener bug');
      },
      resync() {},
      down() {},
    };
    const good = recordingListener();
    await notifier.subscribe('pages', thrower);
    await notifier.subscribe('pages', good);
    await notifier.publish('pages', 1);
    await notifier.publish('pages', 2);
    await good.until(() => good.hints('pages') === 2, 'both hints on the good listener');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/a hint listener of scope 'pages' threw: listener bug/);
    expect(notifier.stats().state).toBe('up');
    await notifier.close();
  });

  it('shares one subscriber among reloaders of many scopes and shows it in CLIENT LIST by name', async () => {
    const name = unique('named');
    const admin = client();
    const notifier = redisNotifier({
      client: client({ connectionName: name }),
      prefix: `${name}:`,
      logger: false,
    });
    const subscriptions = await Promise.all(
      Array.from({ length: 50 }, (_, i) => notifier.subscribe(`tenant-${i}`, recordingListener())),
    );
    expect(await countNamed(admin, name)).toBe(1);
    expect(notifier.stats()).toMatchObject({ state: 'up', channels: 50, subscriptions: 50 });
    await Promise.all(subscriptions.map((s) => s.close()));
    await waitFor(
      async () => (await countNamed(admin, name)) === 0,
      'the subscriber to close with the last one',
    );
    expect(notifier.stats().state).toBe('idle');
  });
});
