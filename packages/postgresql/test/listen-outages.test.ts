import { randomBytes } from 'node:crypto';
import type { HintListener } from '@apphook/core';
import { FaultProxy } from '@apphook/test-suite/fault-proxy';
import { requireService, services } from '@apphook/test-suite/services';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ListenConnection, type ListenConnectionOptions } from '../src/listen-connection.js';
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
  return { events, listener, hints: () => events.filter((e) => e.startsWith('hint:')).length };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Outages at awkward moments (issue 13 items 2 and 3): each test counts the LISTEN backends in
 * pg_stat_activity (application_name `apphook-listen:<channel>`) and the hints each listener gets.
 */
describe.skipIf(!available)('ListenConnection outages at awkward moments (real PostgreSQL)', () => {
  let admin: InstanceType<typeof pg.Client>;
  const target = new URL(services.postgres);

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: services.postgres });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
  });

  const fresh = () => `apphook_outage_${randomBytes(4).toString('hex')}`;
  const backends = async (channel: string) =>
    Number(
      (
        await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
          `apphook-listen:${channel}`,
        ])
      ).rows[0].n,
    );
  const terminate = (channel: string) =>
    admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      `apphook-listen:${channel}`,
    ]);
  const notify = (channel: string, scope: string) =>
    admin.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ scope, version: 1 })]);
  const open = (channel: string, extra: Partial<ListenConnectionOptions> = {}) =>
    new ListenConnection({
      connection: { connectionString: services.postgres },
      channel,
      logger: false,
      ...extra,
    });

  it('a subscribe during an outage reconnects once: one LISTEN backend, each notification delivered once (item 2)', async () => {
    const channel = fresh();
    // A long backoff, so the second subscribe surely lands while the reconnect timer is pending.
    const conn = open(channel, { reconnectBaseMs: 1500, reconnectMaxMs: 1500 });
    const a = recorder();
    await conn.subscribe('pages', a.listener);
    await terminate(channel);
    await vi.waitFor(() => expect(a.events).toEqual(['down']), { timeout: HANG_MS, interval: 10 });
    const b = recorder(); // a tenant reloader starting during the outage
    await conn.subscribe('tenant', b.listener);
    await vi.waitFor(() => expect(conn.stats().listening).toBe(true), { timeout: HANG_MS, interval: 10 });
    await sleep(2500); // past the moment the old reconnect timer would have fired
    await vi.waitFor(async () => expect(await backends(channel)).toBe(1), { timeout: HANG_MS, interval: 50 });
    await notify(channel, 'pages');
    await notify(channel, 'tenant');
    await vi.waitFor(() => expect(a.hints() + b.hints()).toBe(2), { timeout: HANG_MS, interval: 10 });
    await sleep(300); // a second client would deliver the same notifications again
    expect(a.events).toEqual(['down', 'resync', 'hint:pages']);
    expect(b.events).toEqual(['down', 'resync', 'hint:tenant']);
    await conn.close();
    await vi.waitFor(async () => expect(await backends(channel)).toBe(0), { timeout: HANG_MS, interval: 50 });
  });

  it('a drop during the self-test schedules another reconnect and is not blamed on a pooler (item 3)', async () => {
    const channel = fresh();
    const swallow = { on: false, count: 0 };
    const proxy = await FaultProxy.start({
      host: target.hostname,
      port: Number(target.port || 5432),
      downstreamFilter: notificationSwallower(swallow),
    });
    const warnings: string[] = [];
    const conn = open(channel, {
      connection: { connectionString: proxy.url(services.postgres) },
      selfTestTimeoutMs: 2000,
      reconnectBaseMs: 50,
      reconnectMaxMs: 100,
      logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    });
    const a = recorder();
    await conn.subscribe('pages', a.listener);
    // The reconnect's self-test notification is held back, so the drop below lands during the self-test.
    swallow.on = true;
    proxy.dropAll();
    await vi.waitFor(() => expect(swallow.count).toBe(1), { timeout: HANG_MS, interval: 5 });
    swallow.on = false;
    proxy.dropAll();
    await vi.waitFor(() => expect(a.events).toEqual(['down', 'resync']), { timeout: HANG_MS, interval: 10 });
    expect(conn.stats()).toMatchObject({ listening: true, pushAvailable: true, reconnects: 1 });
    expect(warnings).toEqual([]);
    await notify(channel, 'pages');
    await vi.waitFor(() => expect(a.events.at(-1)).toBe('hint:pages'), { timeout: HANG_MS, interval: 10 });
    expect(await backends(channel)).toBe(1);
    await conn.close();
    await proxy.close();
  });

  it('close() during the first connect rejects the subscribe and leaves no backend, client or timer', async () => {
    const channel = fresh();
    const proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    proxy.mode = 'blackhole';
    const conn = open(channel, { connection: { connectionString: proxy.url(services.postgres) } });
    const subscribing = conn.subscribe('pages', recorder().listener).catch((e: unknown) => e);
    await vi.waitFor(() => expect(proxy.open).toBe(1), { timeout: HANG_MS, interval: 5 });
    await conn.close();
    expect(await subscribing).toMatchObject({ code: 'E_STATE' });
    expect(conn.stats().state).toBe('closed');
    await vi.waitFor(() => expect(proxy.open).toBe(0), { timeout: HANG_MS, interval: 10 });
    proxy.mode = 'pass';
    await expect(conn.subscribe('pages', recorder().listener)).rejects.toMatchObject({ code: 'E_STATE' });
    expect(await backends(channel)).toBe(0);
    await proxy.close();
  });

  it('the last subscription closed during a reconnect ends the attempt: nothing stays open', async () => {
    const channel = fresh();
    const proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const conn = open(channel, {
      connection: { connectionString: proxy.url(services.postgres) },
      reconnectBaseMs: 20,
      reconnectMaxMs: 20,
    });
    const sub = await conn.subscribe('pages', recorder().listener);
    proxy.mode = 'blackhole';
    proxy.dropAll();
    await vi.waitFor(() => expect(conn.stats().state).toBe('connecting'), { timeout: HANG_MS, interval: 5 });
    await sub.close();
    expect(conn.stats().state).toBe('idle');
    await vi.waitFor(() => expect(proxy.open).toBe(0), { timeout: HANG_MS, interval: 10 });
    proxy.mode = 'pass';
    await sleep(200);
    expect(proxy.open).toBe(0);
    expect(await backends(channel)).toBe(0);
    await conn.close();
    await proxy.close();
  });
});
