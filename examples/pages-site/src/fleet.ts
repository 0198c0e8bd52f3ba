/**
 * The demo's fleet view (G13): every worker announces what it serves, through Redis when the site uses the Redis
 * notifier, else through a small table in the site's database; the demo and the tests read it back.
 */
import type { Reloader } from '@apphook/core';
import { type Announcer, announce, type FleetBackend, type FleetView, fleetView } from '@apphook/fleet';
import { redisFleetBackend } from '@apphook/fleet/redis';
import { sqlFleetBackend } from '@apphook/fleet/sql';
import type { MikroORM } from '@mikro-orm/core';
import type { Redis } from 'ioredis';
import { type DbConfig, openDatabase } from './db.js';

export interface SiteFleetConfig {
  /** @default 1000 */
  heartbeatMs?: number;
  /** @default 3 * heartbeatMs */
  ttlMs?: number;
  /** SQL table of the announcements. @default 'apphook_fleet' */
  table?: string;
  /** Redis key prefix. @default 'apphook:fleet:' */
  redisPrefix?: string;
}

function backendFor(config: SiteFleetConfig, orm: MikroORM, redis: Redis | undefined): FleetBackend {
  return redis
    ? redisFleetBackend({ client: redis, ...(config.redisPrefix ? { prefix: config.redisPrefix } : {}) })
    : sqlFleetBackend(orm, config.table ? { tableName: config.table } : {});
}

/** Creates the SQL table when missing; workers starting together may race on Postgres's catalog, so retry once. */
async function ensureTable(backend: FleetBackend): Promise<void> {
  if (!('ensureSchema' in backend)) return;
  const ensure = () => (backend as { ensureSchema(): Promise<void> }).ensureSchema();
  await ensure().catch(async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ensure();
  });
}

/** Starts announcing a worker's reloader; creates the SQL table when missing (a migration would in a real app). */
export async function announceSite(
  reloader: Reloader<unknown, never>,
  name: string,
  orm: MikroORM,
  redis: Redis | undefined,
  config: SiteFleetConfig,
): Promise<Announcer> {
  const backend = backendFor(config, orm, redis);
  await ensureTable(backend);
  const announcer = announce(reloader, {
    backend,
    name,
    heartbeatMs: config.heartbeatMs ?? 1000,
    ...(config.ttlMs ? { ttlMs: config.ttlMs } : {}),
    logger: false,
  });
  await announcer.ready();
  return announcer;
}

/** A fleet view on the site's database or Redis, for the demo's admin page and the tests. */
export async function openFleetView(
  db: DbConfig,
  config: SiteFleetConfig,
  redisUrl?: string,
): Promise<{ view: FleetView; close(): Promise<void> }> {
  const database = await openDatabase(db);
  let redis: Redis | undefined;
  if (redisUrl) {
    const { Redis } = await import('ioredis');
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
  }
  const backend = backendFor(config, database.orm, redis);
  await ensureTable(backend);
  return {
    view: fleetView({ backend }),
    async close() {
      redis?.disconnect();
      await database.close();
    },
  };
}
