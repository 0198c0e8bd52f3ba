/**
 * Announcements in Redis: one key per process with a TTL Redis enforces (`{prefix}{scope}:m:{id}`), and a set
 * of ids per scope (`{prefix}{scope}:ids`) to list them without SCAN. The scope sits in a hash tag (`{scope}`),
 * so both keys live in one slot of a Cluster. A write is one MULTI: SET PX, SADD, PEXPIRE of the set.
 */
import { ApphookOptionError } from '@apphook/core';
import type { Cluster, Redis } from 'ioredis';
import { MAX_ANNOUNCEMENT_BYTES } from './announcement.js';
import type { FleetBackend, FleetListing } from './backend.js';

export interface RedisFleetBackendOptions {
  /** Your ioredis client (`Redis` or `Cluster`); never closed by the backend. */
  client: Redis | Cluster;
  /**
   * Key prefix. Give each app or environment sharing a Redis its own.
   * @default 'apphook:fleet:'
   */
  prefix?: string;
}

const PREFIX_PATTERN = /^[A-Za-z0-9._:-]{0,100}$/;

export function redisFleetBackend(options: RedisFleetBackendOptions): FleetBackend {
  const client = options?.client as Redis | undefined; // Cluster has the same commands; one type keeps the calls simple
  if (!client || typeof client.multi !== 'function' || typeof client.smembers !== 'function') {
    throw new ApphookOptionError(
      '[apphook/fleet] redisFleetBackend({ client }) needs your ioredis client: new Redis(url) or new Cluster(nodes)',
    );
  }
  const prefix = options.prefix ?? 'apphook:fleet:';
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new ApphookOptionError(
      `[apphook/fleet] prefix must be up to 100 characters from [A-Za-z0-9._:-], got ${JSON.stringify(String(prefix).slice(0, 40))}`,
    );
  }
  const idsKey = (scope: string) => `${prefix}{${scope}}:ids`;
  const memberKey = (scope: string, id: string) => `${prefix}{${scope}}:m:${id}`;
  // The set outlives every member by a margin; a live writer refreshes it with each write.
  const setTtl = (ttlMs: number) => Math.min(ttlMs * 4, 2_147_483_647);

  async function exec(multi: ReturnType<Redis['multi']>): Promise<void> {
    const results = await multi.exec();
    for (const [error] of results ?? []) if (error) throw error;
  }

  return {
    name: 'redis',
    async write(scope, id, payload, ttlMs) {
      await exec(
        client
          .multi()
          .set(memberKey(scope, id), payload, 'PX', ttlMs)
          .sadd(idsKey(scope), id)
          .pexpire(idsKey(scope), setTtl(ttlMs)),
      );
    },
    async remove(scope, id) {
      await exec(client.multi().del(memberKey(scope, id)).srem(idsKey(scope), id));
    },
    async list(scope, limit): Promise<FleetListing> {
      // SSCAN bounds what one read pulls from a set someone may have stuffed with ids.
      const ids: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.sscan(idsKey(scope), cursor, 'COUNT', 200);
        cursor = next;
        for (const id of batch) if (ids.length <= limit) ids.push(id);
      } while (cursor !== '0' && ids.length <= limit);
      const truncated = ids.length > limit;
      const wanted = ids.slice(0, limit);
      if (wanted.length === 0) return { entries: [], truncated };
      // GETRANGE instead of GET: an oversized value is read only up to the limit (+1 to see that it was cut).
      const pipeline = client.pipeline();
      for (const id of wanted) pipeline.getrange(memberKey(scope, id), 0, MAX_ANNOUNCEMENT_BYTES);
      const values = (await pipeline.exec()) ?? [];
      const entries: FleetListing['entries'] = [];
      const gone: string[] = [];
      values.forEach(([error, value], i) => {
        const id = wanted[i]!;
        if (error) entries.push({ id, payload: undefined });
        else if (value === '' || value === null) gone.push(id);
        else entries.push({ id, payload: value });
      });
      // Members whose key expired (the process died) leave the set; readers do this, not the dead.
      if (gone.length > 0) await client.srem(idsKey(scope), ...gone).catch(() => {});
      return { entries, truncated };
    },
  };
}
