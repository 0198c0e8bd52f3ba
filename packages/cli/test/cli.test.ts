import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, run } from '@apphook/cli';
import {
  callbackBinding,
  createReloader,
  type MemoryTransaction,
  memoryStore,
  type Reloader,
} from '@apphook/core';
import { type Announcer, announce, type FleetBackend } from '@apphook/fleet';
import { redisFleetBackend } from '@apphook/fleet/redis';
import { sqlFleetBackend } from '@apphook/fleet/sql';
import { requireService, services } from '@apphook/test-suite/services';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

/** Two announcing reloaders on `backend`; one of them fails to build version 1. */
async function fleetOf(backend: FleetBackend, scope: string) {
  const store = memoryStore({ logger: false });
  const started: Array<{ reloader: Reloader<unknown, MemoryTransaction>; announcer: Announcer }> = [];
  for (const name of ['web-1', 'web-2']) {
    const reloader = createReloader({
      store,
      scope,
      mode: 'interval',
      intervalMs: 60_000,
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
      logger: false,
      binding: callbackBinding({
        rebuildRoutes: ({ version }) => {
          if (name === 'web-2' && version === 1) throw new Error('template missing');
          return version;
        },
      }),
    });
    await reloader.start();
    const announcer = announce(reloader, { backend, name, heartbeatMs: 60_000, logger: false });
    await announcer.ready();
    started.push({ reloader, announcer });
  }
  return {
    async bump() {
      await store.transaction((tx) => started[0]!.reloader.markChanged(tx));
      await Promise.all(started.map((s) => s.reloader.check()));
      // The announcements are written after the events: wait until the fleet shows them, however long the
      // writes take on a loaded machine (the limit only catches a hang).
      await vi.waitFor(
        async () => {
          const { entries } = await backend.list(scope, 10);
          const announced = entries.map(
            (e) =>
              JSON.parse(String(e.payload)) as {
                name: string;
                version: number | null;
                lastError: { code: string } | null;
              },
          );
          expect(announced.find((a) => a.name === 'web-1')?.version).toBe(1);
          expect(announced.find((a) => a.name === 'web-2')?.lastError?.code).toBe('E_REBUILD');
        },
        { timeout: 20_000 },
      );
    },
    async stop() {
      for (const s of started) {
        await s.announcer.stop();
        await s.reloader.stop();
      }
    },
  };
}

const redisUp = await requireService('redis');

describe('apphook CLI', () => {
  it('rejects bad arguments with exit code 2 and the usage', async () => {
    for (const args of [
      [],
      ['frobnicate'],
      ['wait', '--redis', 'redis://x'],
      ['status'],
      ['status', '--db', 'ftp://x'],
    ]) {
      const r = io();
      expect(await run(args, r.io)).toBe(EXIT.usage);
      expect(r.err.join('\n')).toMatch(/\[apphook\/cli\]|usage:/);
    }
  });

  it('exits 3 when the fleet cannot be read', async () => {
    const r = io();
    expect(await run(['status', '--redis', 'redis://127.0.0.1:1'], r.io)).toBe(EXIT.unavailable);
  });

  it.skipIf(!redisUp)(
    'prints the fleet from Redis, and wait exits 0 when converged, 1 naming the laggard with its error',
    async () => {
      const prefix = `apphook:cli-test:${randomBytes(3).toString('hex')}:`;
      const client = new Redis(services.redis);
      const fleet = await fleetOf(redisFleetBackend({ client, prefix }), 'shop');
      const base = ['--redis', services.redis, '--prefix', prefix, '--scope', 'shop'];
      try {
        const status = io();
        expect(await run(['status', ...base], status.io)).toBe(EXIT.ok);
        expect(status.out[0]).toMatch(/scope 'shop': 2 live process\(es\)/);
        expect(status.out[0]).toMatch(/web-1 .* 0 /);
        const ok = io();
        expect(await run(['wait', '--version', '0', ...base, '--min', '2', '--timeout', '5s'], ok.io)).toBe(
          EXIT.ok,
        );
        expect(ok.out[0]).toMatch(/live on 2 of 2 at version 0/);
        await fleet.bump();
        const lag = io();
        expect(await run(['wait', '--version', '1', ...base, '--timeout', '500ms'], lag.io)).toBe(
          EXIT.lagging,
        );
        expect(lag.err.join('\n')).toMatch(/web-2 serves 0: last error E_REBUILD .*template missing/);
        const json = io();
        expect(await run(['status', ...base, '--json'], json.io)).toBe(EXIT.ok);
        expect(JSON.parse(json.out[0]!).members.map((m: { version: number }) => m.version)).toEqual([1, 0]);
      } finally {
        await fleet.stop();
        client.disconnect();
      }
    },
  );

  it('reads the fleet table of an SQLite database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apphook-cli-'));
    const file = join(dir, 'app.sqlite');
    const { MikroORM } = await import('@mikro-orm/sqlite');
    const orm = await MikroORM.init({ dbName: file, entities: [], discovery: { warnWhenNoEntities: false } });
    const backend = sqlFleetBackend(orm);
    try {
      const missing = io();
      expect(await run(['status', '--db', file], missing.io)).toBe(EXIT.unavailable);
      expect(missing.err[0]).toMatch(/fleet table "apphook_fleet" is missing/);
      await backend.ensureSchema();
      const fleet = await fleetOf(backend, 'default');
      const r = io();
      expect(await run(['wait', '--db', `sqlite:${file}`, '--version', '0', '--min', '2'], r.io)).toBe(
        EXIT.ok,
      );
      await fleet.stop();
    } finally {
      await orm.close(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
