import { ApphookOptionError, createLogger, type Logger } from '@apphook/core';
import type { Cluster, Redis } from 'ioredis';

/** The user's ioredis connection: a `Redis` (standalone or Sentinel) or a `Cluster`. */
export type RedisClient = Redis | Cluster;

export interface RedisNotifierOptions {
  /**
   * Your ioredis client: `new Redis(url)`, a Sentinel client (`new Redis({ sentinels, name })`) or a
   * `new Cluster(nodes)`. Publishes go through it; the notifier never closes it. Its one subscriber
   * connection is made from it with `duplicate()`.
   */
  client: RedisClient;
  /**
   * One channel for every scope; the message carries the scope. Use it when ACLs allow a single channel
   * name. Leave it out to get one channel per scope (`prefix` + scope), which lets Redis route a hint only
   * to processes that serve that scope and spreads sharded pub/sub over a Cluster's shards.
   * @default undefined (one channel per scope)
   */
  channel?: string;
  /**
   * Per-scope channel names are `prefix + scope`. Give each app or environment sharing a Redis its own
   * prefix. Ignored with `channel`; passing both is an error.
   * @default 'apphook:'
   */
  prefix?: string;
  /**
   * Use sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`, Redis 7+). Every process sharing the channels must use
   * the same setting. On a Cluster, sharded pub/sub keeps a hint on the shard that owns its channel instead
   * of broadcasting it over the cluster bus.
   * @default true for a `Cluster` whose servers know `SPUBLISH`, false otherwise
   */
  sharded?: boolean;
  /**
   * Messages larger than this are dropped unread and counted (G10). A valid hint is under 300 bytes.
   * @default 1024
   */
  maxMessageBytes?: number;
  /**
   * A publish not acknowledged by Redis within this time rejects (the core reports it as an `'error'`
   * event); the commit is already done and the safety poll recovers the hint (G2, G9). While the client is
   * reconnecting a publish rejects at once instead of waiting in ioredis's offline queue.
   * @default 2000
   */
  publishTimeoutMs?: number;
  /**
   * How long `subscribe()` waits for the first subscriber connection (and its `SUBSCRIBE`) before it rejects
   * with `E_CONNECTION`, which makes `reloader.start()` fail with a message instead of hanging (G11).
   * @default 10000
   */
  subscribeTimeoutMs?: number;
  /**
   * The subscriber connection is PINGed this often; no answer within the same time counts as a dead
   * connection: reloaders poll and the connection is re-made (G9). On a Cluster (whose subscriber
   * connections ioredis manages) with sharded pub/sub, the channels are SSUBSCRIBEd again this often instead,
   * so a slot migration that ioredis missed cannot leave one unsubscribed. `0` turns it off.
   * @default 15000
   */
  heartbeatMs?: number;
  /**
   * Where the notifier reports ignored messages and connection trouble.
   * @default console (warn and error only)
   */
  logger?: Logger | false;
}

export interface ResolvedNotifierOptions {
  client: RedisClient;
  isCluster: boolean;
  channel: string | undefined;
  prefix: string;
  sharded: boolean | undefined;
  maxMessageBytes: number;
  publishTimeoutMs: number;
  subscribeTimeoutMs: number;
  heartbeatMs: number;
  logger: Logger;
}

const MAX_DELAY = 2_147_483_647;
const CHANNEL_MAX_LENGTH = 256;

function fail(message: string): never {
  throw new ApphookOptionError(`[apphook/redis] ${message}`);
}

function milliseconds(value: unknown, key: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value > MAX_DELAY ||
    (allowZero ? value < 0 : value <= 0)
  ) {
    fail(
      `${key} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds, got ${show(value)}`,
    );
  }
  return value;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 60));
  if (value === null || typeof value !== 'object') return String(value);
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

function isClient(value: unknown): value is RedisClient {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.publish === 'function' &&
    typeof candidate.duplicate === 'function' &&
    typeof candidate.on === 'function' &&
    typeof candidate.status === 'string'
  );
}

/** Checks everything at construction, so a misconfiguration fails at startup with a message (G11). */
export function resolveOptions(options: RedisNotifierOptions): ResolvedNotifierOptions {
  if (!options || typeof options !== 'object') {
    fail('redisNotifier needs an options object: redisNotifier({ client: new Redis(url) })');
  }
  const { client } = options;
  if (!isClient(client)) {
    fail(
      `client must be an ioredis Redis or Cluster instance (new Redis(url) or new Cluster(nodes)), got ${show(client)}`,
    );
  }
  if (options.channel !== undefined && options.prefix !== undefined) {
    fail(
      'pass either channel (one channel shared by every scope) or prefix (one channel per scope), not both',
    );
  }
  if (
    options.channel !== undefined &&
    (typeof options.channel !== 'string' ||
      options.channel.length === 0 ||
      options.channel.length > CHANNEL_MAX_LENGTH)
  ) {
    fail(
      `channel must be a non-empty string of at most ${CHANNEL_MAX_LENGTH} characters, got ${show(options.channel)}`,
    );
  }
  if (
    options.prefix !== undefined &&
    (typeof options.prefix !== 'string' || options.prefix.length > CHANNEL_MAX_LENGTH)
  ) {
    fail(`prefix must be a string of at most ${CHANNEL_MAX_LENGTH} characters, got ${show(options.prefix)}`);
  }
  if (options.sharded !== undefined && typeof options.sharded !== 'boolean') {
    fail(`sharded must be true or false, got ${show(options.sharded)}`);
  }
  const maxMessageBytes = options.maxMessageBytes ?? 1024;
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 512 || maxMessageBytes > 1_048_576) {
    fail(
      `maxMessageBytes must be an integer from 512 (a hint for the longest scope fits) to 1048576, got ${show(options.maxMessageBytes)}`,
    );
  }
  return {
    client,
    isCluster: (client as { isCluster?: unknown }).isCluster === true,
    channel: options.channel,
    prefix: options.prefix ?? 'apphook:',
    sharded: options.sharded,
    maxMessageBytes,
    publishTimeoutMs: milliseconds(options.publishTimeoutMs, 'publishTimeoutMs', 2000),
    subscribeTimeoutMs: milliseconds(options.subscribeTimeoutMs, 'subscribeTimeoutMs', 10_000),
    heartbeatMs: milliseconds(options.heartbeatMs, 'heartbeatMs', 15_000, true),
    logger: createLogger(options.logger),
  };
}
