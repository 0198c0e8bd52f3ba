import { randomBytes } from 'node:crypto';
import { runChannelModel } from '@apphook/test-suite/channel-model';
import { FaultProxy } from '@apphook/test-suite/fault-proxy';
import { requireService, services } from '@apphook/test-suite/services';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListenConnection } from '../src/listen-connection.js';
import { notificationSwallower } from './pg-wire.js';

const available = await requireService('postgres');

/**
 * The LISTEN connection's invariants (at most one backend, a lost connection always reconnects, each
 * committed notification at most once and, after recovery, surely; nothing open after close) over random
 * schedules of faults injected by a TCP proxy in front of the real PostgreSQL. See channel-model.ts.
 */
describe.skipIf(!available)('ListenConnection model (random fault schedules, real PostgreSQL)', () => {
  let admin: InstanceType<typeof pg.Client>;
  let proxy: FaultProxy;
  const swallow = { on: false, count: 0 };
  let channel = '';

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: services.postgres });
    await admin.connect();
    const target = new URL(services.postgres);
    proxy = await FaultProxy.start({
      host: target.hostname,
      port: Number(target.port || 5432),
      downstreamFilter: notificationSwallower(swallow),
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await admin?.end();
  });

  it('keeps its invariants under random drops, blackholes, refusals, slow links, poolers and subscriptions', async () => {
    const runs = await runChannelModel({
      name: 'ListenConnection',
      proxy,
      open: () => {
        channel = `apphook_model_${randomBytes(4).toString('hex')}`;
        const conn = new ListenConnection({
          connection: { connectionString: proxy.url(services.postgres) },
          channel,
          heartbeatMs: 1000,
          selfTestTimeoutMs: 600,
          reconnectBaseMs: 200,
          reconnectMaxMs: 500,
          logger: false,
        });
        return {
          subscribe: (scope, listener) => conn.subscribe(scope, listener),
          close: () => conn.close(),
          healthy: () => conn.stats().listening,
        };
      },
      notify: async (scope) => {
        await admin.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ scope, version: 1 })]);
      },
      connections: async () =>
        Number(
          (
            await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
              `apphook-listen:${channel}`,
            ])
          ).rows[0].n,
        ),
      pooler: (on) => {
        swallow.on = on;
      },
    });
    expect(runs).toBeGreaterThan(0);
  }, 180_000);
});
