import { ApphookError, assertScope, type Notifier, raceTimeout, type Version } from '@apphook/core';
import { describeTarget, errorText } from './describe.js';
import { encodeMessage } from './message.js';
import { type RedisClient, type RedisNotifierOptions, resolveOptions } from './options.js';
import { type HubCounters, type HubState, SubscriberHub } from './subscriber-hub.js';

export interface RedisNotifierStats extends HubCounters {
  /** State of the subscriber connection: `idle`, `connecting`, `up`, `down` or `closed`. */
  state: HubState;
  /** Pub/sub flavour, `undefined` until it was decided (on the first publish or subscribe). */
  sharded: boolean | undefined;
  /** Channels subscribed (or to be subscribed on reconnect). */
  channels: number;
  /** Live subscriptions (one per reloader and notifier). */
  subscriptions: number;
  /** Publishes Redis acknowledged. */
  published: number;
  /** Publishes that rejected (Redis down, timeout); recovered by the safety poll (G9). */
  publishFailures: number;
}

export interface RedisNotifier extends Notifier {
  /** Counters for monitoring and tests: ignored messages, drops, resyncs, publishes. */
  stats(): RedisNotifierStats;
  /** Closes the subscriber connection and every subscription; never the client you passed. Idempotent. */
  close(): Promise<void>;
}

const WHERE = '[apphook/redis]';
/** Client states in which a command would sit in ioredis's offline queue for an unknown time. */
const OFFLINE = new Set(['reconnecting', 'close', 'disconnecting']);

/**
 * Carries "scope changed" hints between processes over Redis pub/sub. Publish goes through your client;
 * one subscriber connection, made with `client.duplicate()` on the first subscribe, serves every scope and
 * reloader using this notifier. Pass it to `createReloader({ notifier })`: the core publishes after the
 * outermost commit (G2), and a hint only makes the reloader read the store (G10).
 */
export function redisNotifier(options: RedisNotifierOptions): RedisNotifier {
  const opts = resolveOptions(options);
  const { client } = opts;
  let sharded: boolean | undefined = opts.sharded ?? (opts.isCluster ? undefined : false);
  let detecting: Promise<boolean> | undefined;
  let closed = false;
  let published = 0;
  let publishFailures = 0;

  const resolveSharded = (): Promise<boolean> => {
    if (sharded !== undefined) return Promise.resolve(sharded);
    detecting ??= detectSharded(client, opts.subscribeTimeoutMs).then(
      (value) => {
        sharded = value;
        return value;
      },
      (error: unknown) => {
        detecting = undefined; // ask again next time
        throw error;
      },
    );
    return detecting;
  };

  /** The name passed to ioredis (which applies `keyPrefix` to sharded channels itself). */
  const channelOf = (scope: string): string => opts.channel ?? `${opts.prefix}${scope}`;

  const hub = new SubscriberHub({
    client,
    isCluster: opts.isCluster,
    sharded: resolveSharded,
    wireChannel: (scope, isSharded) => {
      const keyPrefix = isSharded ? ((client.options as { keyPrefix?: string }).keyPrefix ?? '') : '';
      return `${keyPrefix}${channelOf(scope)}`;
    },
    maxMessageBytes: opts.maxMessageBytes,
    subscribeTimeoutMs: opts.subscribeTimeoutMs,
    heartbeatMs: opts.heartbeatMs,
    logger: opts.logger,
  });

  async function send(scope: string, version: Version): Promise<void> {
    if (closed) {
      throw new ApphookError(
        'E_STATE',
        `${WHERE} the notifier is closed; create a new redisNotifier() to publish`,
      );
    }
    assertScope(scope, 'apphook/redis');
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new ApphookError(
        'E_OPTION',
        `${WHERE} version must be a non-negative safe integer, got ${String(version)}`,
      );
    }
    const status = String(client.status);
    if (status === 'end') {
      throw new ApphookError(
        'E_CONNECTION',
        `${WHERE} the ioredis client has ended (quit()/disconnect() was called or its retryStrategy gave up), so the hint for '${scope}' is lost; the safety poll recovers it. Keep the client you passed open while reloaders run`,
      );
    }
    if (OFFLINE.has(status)) {
      // Not queued: ioredis would hold it until Redis is back, and the store is the truth anyway (G9).
      throw new ApphookError(
        'E_CONNECTION',
        `${WHERE} ${describeTarget(client)} is unreachable (client status '${status}'); the hint for '${scope}' v${version} is dropped and the safety poll recovers it`,
      );
    }
    const isSharded = await resolveSharded();
    const payload = encodeMessage(scope, version);
    const channel = channelOf(scope);
    await raceTimeout(
      Promise.resolve(isSharded ? client.spublish(channel, payload) : client.publish(channel, payload)),
      opts.publishTimeoutMs,
      `${WHERE} publishing the hint for '${scope}' v${version} was not acknowledged within ${opts.publishTimeoutMs} ms; the safety poll recovers it`,
    );
  }

  return {
    name: 'apphook/redis',

    async publish(scope, version) {
      try {
        await send(scope, version);
        published++;
      } catch (error) {
        publishFailures++;
        if (error instanceof ApphookError) throw error;
        throw new ApphookError(
          'E_CONNECTION',
          `${WHERE} publishing the hint for '${scope}' failed (${errorText(error)}); the safety poll recovers it`,
          { cause: error },
        );
      }
    },

    subscribe(scope, listener) {
      try {
        assertScope(scope, 'apphook/redis');
      } catch (error) {
        return Promise.reject(error);
      }
      return hub.subscribe(scope, listener);
    },

    stats() {
      return {
        ...hub.counters,
        state: hub.state,
        sharded,
        channels: hub.channelCount,
        subscriptions: hub.subscriptionCount,
        published,
        publishFailures,
      };
    },

    async close() {
      closed = true;
      hub.close();
    },
  };
}

/** Redis 7 added SPUBLISH; `COMMAND INFO` answers `[null]` for a command the server does not know. */
async function detectSharded(client: RedisClient, timeoutMs: number): Promise<boolean> {
  const info = await raceTimeout(
    Promise.resolve(client.call('COMMAND', 'INFO', 'SPUBLISH')),
    timeoutMs,
    `${WHERE} COMMAND INFO SPUBLISH was not answered within ${timeoutMs} ms`,
  );
  return Array.isArray(info) && info[0] !== null && info[0] !== undefined;
}
