/**
 * Every fleet backend against its real server: write / list / remove, expiry enforced by the backend, bounded
 * reads of stuffed entries, truncated listings, and a clear error when the SQL table is missing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FleetBackend, MAX_ANNOUNCEMENT_BYTES } from '@apphook/fleet';
import { redisFleetBackend } from '@apphook/fleet/redis';
import { sqlFleetBackend } from '@apphook/fleet/sql';
import { requireService, services } from '@apphook/test-suite/services';
import type { MikroORM } from '@mikro-orm/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const tag = randomBytes(3).toString('hex');

const up = {
  redis: await requireService('redis'),
  postgres: await requireService('postgres'),
  mysql: await requireService('mysql'),
};

interface Target {
  backend: FleetBackend;
  stuff(scope: string, id: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

function backendSuite(
  label: string,
  service: 'redis' | 'postgres' | 'mysql' | undefined,
  open: () => Promise<Target>,
) {
  describe.skipIf(service !== undefined && !up[service])(`fleet backend: ${label}`, () => {
    let target: Target;
    beforeAll(async () => {
      target = await open();
    });
    afterAll(async () => target?.close());

    it('stores, lists and removes entries per scope', async () => {
      const { backend } = target;
      await backend.write(`a-${tag}`, 'h:1:x', '{"n":1}', 10_000);
      await backend.write(`a-${tag}`, 'h:2:y', '{"n":2}', 10_000);
      await backend.write(`a-${tag}`, 'h:1:x', '{"n":3}', 10_000); // an upsert, not a second entry
      await backend.write(`b-${tag}`, 'h:3:z', '{"n":4}', 10_000);
      const listed = await backend.list(`a-${tag}`, 100);
      expect(listed.truncated).toBe(false);
      expect(listed.entries.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
        { id: 'h:1:x', payload: '{"n":3}' },
        { id: 'h:2:y', payload: '{"n":2}' },
      ]);
      await backend.remove(`a-${tag}`, 'h:1:x');
      expect((await backend.list(`a-${tag}`, 100)).entries.map((e) => e.id)).toEqual(['h:2:y']);
      const limited = await backend.list(`a-${tag}`, 0);
      expect(limited).toEqual({ entries: [], truncated: true });
    });

    // A TTL long enough that the listing right after the write sees the entry on a loaded machine; the expiry is
    // checked against the time of the write, and the wait for it only catches an entry that never expires.
    it('drops an entry once its TTL passed, with nobody deleting it', async () => {
      const { backend } = target;
      const ttlMs = 2_000;
      const writtenBy = Date.now();
      await backend.write(`ttl-${tag}`, 'h:9:dead', '{}', ttlMs);
      expect((await backend.list(`ttl-${tag}`, 10)).entries).toHaveLength(1);
      await vi.waitFor(async () => expect((await backend.list(`ttl-${tag}`, 10)).entries).toHaveLength(0), {
        timeout: 20_000,
        interval: 100,
      });
      expect(Date.now()).toBeGreaterThanOrEqual(writtenBy + ttlMs);
      await backend.prune?.(`ttl-${tag}`);
    });

    it('reads a stuffed entry only up to the size limit', async () => {
      await target.stuff(`big-${tag}`, 'h:1:big', 'x'.repeat(60_000));
      const [entry] = (await target.backend.list(`big-${tag}`, 10)).entries;
      expect(typeof entry?.payload).toBe('string');
      expect((entry!.payload as string).length).toBeLessThanOrEqual(MAX_ANNOUNCEMENT_BYTES + 1);
    });
  });
}

backendSuite('redis', 'redis', async () => {
  const client = new Redis(services.redis, { maxRetriesPerRequest: 2 });
  const prefix = `apphook:fleet-test:${tag}:`;
  const backend = redisFleetBackend({ client, prefix });
  return {
    backend,
    async stuff(scope, id, payload) {
      await client
        .multi()
        .set(`${prefix}{${scope}}:m:${id}`, payload, 'PX', 10_000)
        .sadd(`${prefix}{${scope}}:ids`, id)
        .exec();
    },
    async close() {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(...keys);
      client.disconnect();
    },
  };
});

async function sqlTarget(orm: MikroORM, cleanup: () => Promise<void>): Promise<Target> {
  const tableName = `fleet_${tag}`;
  const backend = sqlFleetBackend(orm, { tableName });
  await expect(backend.list('s', 1)).rejects.toMatchObject({
    code: 'E_SCHEMA',
    message: expect.stringMatching(/fleet table "fleet_\w+" is missing.*ensureSchema/),
  });
  await backend.ensureSchema();
  await backend.ensureSchema(); // idempotent
  const q = (n: string) => orm.em.getPlatform().quoteIdentifier(n);
  return {
    backend,
    async stuff(scope, id, payload) {
      await orm.em
        .getConnection()
        .execute(
          `insert into ${q(tableName)} (${q('scope')}, ${q('id')}, ${q('payload')}, ${q('expires_at')}) values (?, ?, ?, ?)`,
          [scope, id, payload, Date.now() + 10_000],
        );
    },
    async close() {
      await orm.em
        .getConnection()
        .execute(`drop table if exists ${q(tableName)}`)
        .catch(() => {});
      await orm.close(true);
      await cleanup();
    },
  };
}

backendSuite('sqlite', undefined, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'apphook-fleet-'));
  const { MikroORM } = await import('@mikro-orm/sqlite');
  const orm = await MikroORM.init({
    dbName: join(dir, 'fleet.sqlite'),
    entities: [],
    discovery: { warnWhenNoEntities: false },
  });
  return sqlTarget(orm, async () => rmSync(dir, { recursive: true, force: true }));
});

backendSuite('postgresql', 'postgres', async () => {
  const { MikroORM } = await import('@mikro-orm/postgresql');
  const orm = await MikroORM.init({
    clientUrl: services.postgres,
    entities: [],
    discovery: { warnWhenNoEntities: false },
  });
  return sqlTarget(orm, async () => {});
});

backendSuite('mysql', 'mysql', async () => {
  const { MikroORM } = await import('@mikro-orm/mysql');
  const orm = await MikroORM.init({
    clientUrl: services.mysql,
    entities: [],
    discovery: { warnWhenNoEntities: false },
  });
  return sqlTarget(orm, async () => {});
});
