import { randomBytes } from 'node:crypto';
import type { HintListener } from '@apphook/core';
import { FaultProxy } from '@apphook/test-suite/fault-proxy';
import { requireService, services } from '@apphook/test-suite/services';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ListenConnection } from '../src/listen-connection.js';
import { notificationSwallower } from './pg-wire.js';

const available = await requireService('postgres');
/** Waits for something that happens: the limit only catches a hang (a loaded 2-core machine is slow). */
const HANG_MS = 20_000;

function recorder() {
  const events: string[] = [];
  const listener: HintListener = {
    hint: (scope) => events.push(`hint:${scope}`),
    resync: () => events.push('resync'),
    down: () => events.push('down'),
  };
  return { events, listener };
}

describe.skipIf(!available)('ListenConnection (real PostgreSQL)', () => {
  const channel = `apphook_listen_${randomBytes(4).toString('hex')}`;
  let admin: InstanceType<typeof pg.Client>;
  const notify = (payload: string) => admin.query('SELECT pg_notify($1, $2)', [channel, payload]);

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: services.postgres });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
  });

  const open = (extra: Partial<ConstructorParameters<typeof ListenConnection>[0]> = {}) =>
    new ListenConnection({
      connection: { connectionString: services.postgres },
      channel,
      logger: false,
      reconnectBaseMs: 50,
      reconnectMaxMs: 200,
      ...extra,
    });

  it('delivers a hint for a committed notification, and none before the commit', async () => {
    const conn = open();
    const { events, listener } = recorder();
    await conn.subscribe('pages', listener);
    await admin.query('BEGIN');
    await notify(JSON.stringify({ scope: 'pages', version: 7 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual([]);
    await admin.query('COMMIT');
    await vi.waitFor(() => expect(events).toEqual(['hint:pages']), { timeout: HANG_MS, interval: 10 });
    await conn.close();
  });

  it('ignores and counts payloads that are malformed, oversized or for scopes nobody subscribed', async () => {
    const conn = open({ maxPayloadBytes: 200 });
    const { events, listener } = recorder();
    await conn.subscribe('pages', listener);
    const hostile = [
      'not json',
      '[]',
      'null',
      '42',
      JSON.stringify({ scope: 'other', version: 1 }),
      JSON.stringify({ scope: "x'; drop table apphook_token; --", version: 1 }),
      JSON.stringify({ scope: 'pages'.repeat(100), version: 1 }),
      JSON.stringify({ scope: { $gt: '' }, version: 1 }),
      JSON.stringify({ __proto__: { scope: 'pages' } }),
    ];
    for (const payload of hostile) await notify(payload);
    await notify(JSON.stringify({ scope: 'pages', version: Number.MAX_SAFE_INTEGER }));
    await vi.waitFor(() => expect(events).toEqual(['hint:pages']), { timeout: HANG_MS, interval: 10 });
    expect(conn.stats()).toMatchObject({ notifications: 1, ignored: hostile.length });
    await conn.close();
  });

  it('survives 10,000 random payloads and keeps delivering', async () => {
    const conn = open();
    const { events, listener } = recorder();
    await conn.subscribe('pages', listener);
    // Postgres folds identical payloads within one transaction, so count the distinct ones.
    const sent = new Set<string>();
    await admin.query('BEGIN');
    for (let i = 0; i < 10_000; i++) {
      const junk = randomBytes(1 + (i % 64))
        .toString(i % 2 ? 'base64' : 'latin1')
        .replace(/\0/g, '');
      const payload = i % 3 === 0 ? `{"scope":${JSON.stringify(junk)},"version":${i}}` : junk;
      sent.add(payload);
      await notify(payload);
    }
    await admin.query('COMMIT');
    await notify(JSON.stringify({ scope: 'pages', version: 1 }));
    await vi.waitFor(() => expect(events).toContain('hint:pages'), { timeout: HANG_MS, interval: 20 });
    expect(conn.stats().ignored).toBe(sent.size);
    await conn.close();
  }, 60_000);

  it('reconnects after pg_terminate_backend, tells listeners down then resync, and delivers again (G9)', async () => {
    const conn = open({ heartbeatMs: 200 });
    const { events, listener } = recorder();
    await conn.subscribe('pages', listener);
    const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
      `apphook-listen:${channel}`,
    ]);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) await admin.query('SELECT pg_terminate_backend($1)', [row.pid]);
    await vi.waitFor(() => expect(events).toEqual(['down', 'resync']), { timeout: HANG_MS, interval: 20 });
    expect(conn.stats().reconnects).toBe(1);
    await notify(JSON.stringify({ scope: 'pages', version: 2 }));
    await vi.waitFor(() => expect(events.at(-1)).toBe('hint:pages'), { timeout: HANG_MS, interval: 10 });
    await conn.close();
  });

  it('says once that push is unavailable when notifications never arrive (a transaction-mode pooler)', async () => {
    const target = new URL(services.postgres);
    const proxy = await FaultProxy.start({
      host: target.hostname,
      port: Number(target.port || 5432),
      downstreamFilter: notificationSwallower({ on: true, count: 0 }),
    });
    const warnings: string[] = [];
    const conn = new ListenConnection({
      connection: { connectionString: proxy.url(services.postgres) },
      channel,
      selfTestTimeoutMs: 300,
      logger: { warn: (m) => warnings.push(m), error() {} },
    });
    const a = recorder();
    const b = recorder();
    await conn.subscribe('pages', a.listener);
    await conn.subscribe('pages', b.listener);
    expect(conn.stats().pushAvailable).toBe(false);
    expect(a.events).toEqual(['down']);
    expect(b.events).toEqual(['down']);
    expect(warnings).toHaveLength(1);
    // The pooler case says what helps: a direct connection for LISTEN, or polling (issue 12).
    expect(warnings[0]).toMatch(
      /receives nothing.*PgBouncer.*listenConnection option, or choose mode 'interval'/,
    );
    await conn.close();
    await proxy.close();
  });

  it('opens one connection for many scopes and closes it with the last subscription', async () => {
    const own = `${channel}_many`;
    const conn = open({ channel: own });
    const subs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => conn.subscribe(`tenant:${i}`, recorder().listener)),
    );
    const count = async () =>
      Number(
        (
          await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
            `apphook-listen:${own}`,
          ])
        ).rows[0].n,
      );
    expect(await count()).toBe(1);
    for (const sub of subs) await sub.close();
    await vi.waitFor(async () => expect(await count()).toBe(0), { timeout: HANG_MS, interval: 20 });
  });

  it('rejects subscribe with an error that says to check the server, not to poll, when it is unreachable', async () => {
    const conn = new ListenConnection({
      connection: {
        host: '127.0.0.1',
        port: 1,
        user: 'postgres',
        database: 'test',
        connectionTimeoutMillis: 500,
      },
      channel,
      logger: false,
    });
    const error = (await conn.subscribe('pages', recorder().listener).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'E_CONNECTION' });
    expect(error.message).toMatch(
      /^\[apphook\/postgresql\] could not open the LISTEN connection to PostgreSQL at postgres@127\.0\.0\.1:1\/test: .*Check that the server is running/,
    );
    // Polling reads the same server: suggesting mode 'interval' would not help (issue 12).
    expect(error.message).not.toMatch(/interval/);
    expect(conn.stats().state).toBe('idle');
  });

  it('rejects subscribe with the same advice when the server refuses the login (a missing database)', async () => {
    const url = new URL(services.postgres);
    url.pathname = '/apphook_no_such_database';
    const conn = open({ connection: { connectionString: url.toString() } });
    const error = (await conn.subscribe('pages', recorder().listener).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      /could not open the LISTEN connection .*\/apphook_no_such_database: database "apphook_no_such_database" does not exist\. Check that .*user, password and database are right/,
    );
    expect(error.message).not.toMatch(/PgBouncer|interval/);
  });
});
