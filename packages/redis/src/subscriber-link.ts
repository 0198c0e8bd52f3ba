import { type Logger, raceTimeout } from '@apphook/core';
import type { Cluster, Redis } from 'ioredis';
import { errorText } from './describe.js';
import type { RedisClient } from './options.js';

/** What the hub hears from its subscriber connection. */
export interface LinkEvents {
  /** The connection can take (S)SUBSCRIBE now: the first time, or again after a drop. */
  ready(): void;
  /** Messages may have been missed from here on (G9). */
  lost(error: unknown): void;
  /** ioredis gave up on this connection for good; the hub makes a new one. */
  ended(): void;
  error(error: unknown): void;
  message(channel: Buffer, message: Buffer): void;
}

/**
 * The notifier's own subscriber connection, made from the user's client with `duplicate()`. Hides the
 * difference between a `Redis` (standalone or Sentinel) and a `Cluster`, whose subscriber connections
 * ioredis manages itself.
 *
 * Invariants (the hub's I1..I4 in subscriber-hub.ts build on them):
 * L1 One link is one ioredis connection (or Cluster), made once; reconnecting is ioredis's job, never a
 *    second connection of ours.
 * L2 After close() the link reports nothing (every handler is guarded by `open`), its heartbeat, recheck and
 *    reassert timers are cleared, and the connection is disconnected: nothing is left open.
 * L3 A standalone link is lost when its socket closes or a PING goes unanswered (then it is disconnected and
 *    reconnected by ioredis); ready is reported only once ioredis is ready again, and the hub resubscribes.
 */
export interface SubscriberLink {
  connect(): void;
  isReady(): boolean;
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channels: readonly string[]): Promise<void>;
  /** Closes the connection for good and stops reporting events. */
  close(): void;
}

const noop = (): void => {};

/** SUBSCRIBE / UNSUBSCRIBE, or their sharded forms, on a standalone or cluster subscriber connection. */
function channelCommands(
  conn: Redis | Cluster,
  sharded: boolean,
): Pick<SubscriberLink, 'subscribe' | 'unsubscribe'> {
  return {
    async subscribe(channels) {
      if (channels.length === 0) return;
      // SSUBSCRIBE takes channels of one slot only: one command per channel.
      if (sharded) await Promise.all(channels.map((c) => conn.ssubscribe(c)));
      else await conn.subscribe(...channels);
    },
    async unsubscribe(channels) {
      if (channels.length === 0) return;
      if (sharded) await Promise.all(channels.map((c) => conn.sunsubscribe(c)));
      else await conn.unsubscribe(...channels);
    },
  };
}

/** The name the subscriber shows in `CLIENT LIST`, so operators can tell it from the app's own connections. */
export function subscriberName(client: RedisClient): string {
  const base = (client.options as { connectionName?: string | null }).connectionName;
  return `${base || 'apphook'}:subscriber`;
}

export interface LinkOptions {
  sharded: boolean;
  isCluster: boolean;
  /**
   * PING period on a standalone/Sentinel subscriber; on a sharded Cluster link, how often its channels are
   * SSUBSCRIBEd again (see clusterLink). `0` is off.
   */
  heartbeatMs: number;
  /** The channels that must be subscribed now. */
  channels(): readonly string[];
  logger: Logger;
}

export function createSubscriberLink(
  client: RedisClient,
  options: LinkOptions,
  events: LinkEvents,
): SubscriberLink {
  return options.isCluster
    ? clusterLink(client as Cluster, options, events)
    : redisLink(client as Redis, options, events);
}

function redisLink(client: Redis, options: LinkOptions, events: LinkEvents): SubscriberLink {
  const { sharded, heartbeatMs, logger } = options;
  const conn = client.duplicate({
    // Connects when the hub says so, resubscribes under the hub's control (subscribe first, then tell the
    // reloaders to read: nothing is missed between the two, G9), and never queues commands while offline.
    lazyConnect: true,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    // The subscriber must come back by itself however the app tuned its own client's retries (G9).
    // Capped at 2 s: a reconnect attempt is cheap, and reloaders poll at intervalMs until it succeeds.
    retryStrategy: (times: number) =>
      Math.min(50 * 2 ** Math.min(times, 10), 2000) + Math.floor(Math.random() * 100),
    // ioredis applies keyPrefix to SSUBSCRIBE's channel; the hub passes full channel names (wireChannel).
    keyPrefix: '',
    connectionName: subscriberName(client),
  });
  let open = true;
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A) => {
      if (open) fn(...args);
    };
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let pinging = false;
  const stopHeartbeat = () => {
    clearInterval(heartbeat);
    heartbeat = undefined;
    pinging = false;
  };
  // A connection that died without a FIN (a NAT or load balancer forgot it) never reports itself: PING it,
  // and drop and remake it when the answer does not come (G9).
  const startHeartbeat = () => {
    stopHeartbeat();
    if (heartbeatMs <= 0) return;
    heartbeat = setInterval(() => {
      if (!open || pinging || conn.status !== 'ready') return;
      pinging = true;
      raceTimeout(conn.ping(), heartbeatMs, `no PONG within ${heartbeatMs} ms`)
        .catch((error: unknown) => {
          if (!open || conn.status !== 'ready') return;
          events.error(error);
          logger.warn(
            `[apphook/redis] the subscriber connection stopped answering PING (${errorText(error)}); reconnecting`,
          );
          conn.disconnect(true);
        })
        .finally(() => {
          pinging = false;
        });
    }, heartbeatMs);
    heartbeat.unref?.();
  };
  conn.on(
    'ready',
    guard(() => {
      startHeartbeat();
      events.ready();
    }),
  );
  conn.on(
    'close',
    guard(() => {
      stopHeartbeat();
      events.lost(new Error('the subscriber connection closed'));
    }),
  );
  conn.on('end', guard(events.ended));
  conn.on('error', guard(events.error));
  conn.on(sharded ? 'smessageBuffer' : 'messageBuffer', guard(events.message));
  return {
    connect() {
      conn.connect().catch(noop);
    },
    isReady: () => conn.status === 'ready',
    ...channelCommands(conn, sharded),
    close() {
      open = false;
      stopHeartbeat();
      conn.removeAllListeners();
      conn.on('error', noop);
      conn.disconnect();
    },
  };
}

function clusterLink(client: Cluster, options: LinkOptions, events: LinkEvents): SubscriberLink {
  const { sharded, heartbeatMs, channels } = options;
  const conn = client.duplicate([], {
    lazyConnect: true,
    // One sharded subscriber connection per master that owns one of our channels; ioredis keeps them.
    shardedSubscribers: sharded,
    keyPrefix: '',
    redisOptions: { ...client.options.redisOptions, keyPrefix: '' },
  });
  let open = true;
  let wasReady = false;
  let recheck: ReturnType<typeof setTimeout> | undefined;
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A) => {
      if (open) fn(...args);
    };
  conn.on(
    'ready',
    guard(() => {
      wasReady = true;
      events.ready();
    }),
  );
  for (const status of ['close', 'reconnecting'] as const) {
    conn.on(
      status,
      guard(() => {
        if (wasReady) events.lost(new Error(`the subscriber cluster connection is ${status}`));
      }),
    );
  }
  conn.on('end', guard(events.ended));
  conn.on('error', guard(events.error));
  // A node left: its subscriber connection went with it and ioredis moves the channels elsewhere without
  // telling anyone. Report the gap, then subscribe again once the cluster is usable (G9).
  conn.on(
    '-node',
    guard(() => {
      events.lost(new Error('a Redis Cluster node holding subscriber connections left'));
      clearTimeout(recheck);
      recheck = setTimeout(
        guard(() => {
          if (conn.status === 'ready') events.ready();
        }),
        500,
      );
      recheck.unref?.();
    }),
  );
  // ioredis re-made its sharded subscribers after the slots moved (a migration, a failover): a hint published
  // in between may be lost, so the reloaders re-read (G9). Its first one, right after connecting, is no gap.
  let subscribersReadyBefore = false;
  if (sharded) {
    conn.on(
      'subscribersReady',
      guard(() => {
        if (subscribersReadyBefore)
          events.lost(new Error('Redis Cluster moved sharded channels to other nodes'));
        subscribersReadyBefore = true;
        events.ready();
      }),
    );
  }
  // ioredis follows a slot migration only when its slots refresh already sees the new owner; when that refresh
  // raced the migration, the channel stays unsubscribed without a word (issue 13). SSUBSCRIBE again every
  // heartbeatMs: a no-op where the channel is subscribed, a MOVED that makes ioredis re-make its subscribers
  // (and subscribersReady above) where it was lost.
  const reassert =
    sharded && heartbeatMs > 0
      ? setInterval(() => {
          if (!open || conn.status !== 'ready') return;
          for (const channel of channels()) conn.ssubscribe(channel).catch(noop);
        }, heartbeatMs)
      : undefined;
  reassert?.unref?.();
  conn.on(sharded ? 'smessageBuffer' : 'messageBuffer', guard(events.message));
  return {
    connect() {
      conn.connect().catch(noop);
    },
    isReady: () => conn.status === 'ready',
    ...channelCommands(conn, sharded),
    close() {
      open = false;
      clearTimeout(recheck);
      clearInterval(reassert);
      conn.removeAllListeners();
      conn.on('error', noop);
      conn.disconnect();
    },
  };
}
