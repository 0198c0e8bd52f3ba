import type { Binding, Logger, Notifier, ReloaderMode, TokenStore } from './contracts.js';
import { ApphookOptionError } from './errors.js';
import { assertScope, describe } from './scope.js';

export interface ReloaderOptions<R = unknown, Tx = unknown> {
  /** Where the version lives: `postgresStore(orm)`, `mysqlStore(orm)`, `sqliteStore(orm)` or `memoryStore()`. */
  store: TokenStore<Tx>;
  /** Builds and swaps the routes: `expressBinding(...)`, `callbackBinding(...)`, ... */
  binding: Binding<R>;
  /** Optional push channel between processes, e.g. `redisNotifier({ client })`. Needs a store with `afterCommit`. */
  notifier?: Notifier;
  /**
   * One token row per scope: a tenant, a site, a route group.
   * @default 'default'
   */
  scope?: string;
  /**
   * - `'push'`: react to the store's native push (Postgres LISTEN) and the notifier; a slow safety poll runs too.
   * - `'interval'`: poll the store every `intervalMs`.
   * - `'request'`: check before each request (one shared read in flight), the django CMS behaviour with
   *   read-your-writes across processes; a safety poll runs too.
   * @default 'push' when the store or a notifier can push, otherwise 'interval'
   */
  mode?: ReloaderMode;
  /**
   * Poll period in `interval` mode, and in `push` mode while a push channel is down (G3, G9).
   * @default 1000
   */
  intervalMs?: number;
  /**
   * Poll period in `push` and `request` modes while the channels are healthy: recovers a push lost between
   * commit and publish (G9).
   * @default 30000
   */
  safetyIntervalMs?: number;
  /**
   * Random delay added to every poll so that many processes do not read in lockstep.
   * @default intervalMs / 10
   */
  jitterMs?: number;
  /**
   * `request` mode: reuse a store read that started less than this long ago. `0` keeps strict
   * read-your-writes across processes.
   * @default 0
   */
  minCheckIntervalMs?: number;
  /**
   * Storm spacing: after a rebuild ends, the next one starts no sooner than this, so a burst of commits
   * cannot keep a process rebuilding back to back and starve the writers (G8). While push hints keep arriving
   * (a storm: each less than `stormQuietMs` after the previous), the spacing doubles from this after every
   * rebuild, up to `maxRebuildIntervalMs`. It only holds back rebuilds nobody waits for (push hints, polls):
   * a rebuild due after a quiet spell starts at once, and so does one a caller waits for (this process's own
   * `markChanged`, a `check()` or a request in `request` mode). Polls (`interval` mode) are spaced by this
   * alone.
   * `0` rebuilds back to back.
   * @default 100
   */
  minRebuildIntervalMs?: number;
  /**
   * Storm backoff cap: the longest spacing between two rebuilds while push hints keep arriving, so a long
   * storm costs each process about one rebuild per this. Equal to `minRebuildIntervalMs`: no backoff.
   * @default 1000 (or `minRebuildIntervalMs` when that is larger)
   */
  maxRebuildIntervalMs?: number;
  /**
   * When no push hint arrived for this long, the rebuild a storm held back starts at once (or when the build in
   * flight ends), so a process serves the last commit of a burst within this + the push delay + one rebuild
   * (plus the rebuild in flight when it came). The storm itself (its backoff) ends only after a silence as long
   * as its current spacing: a pause of the writer shorter than that keeps the backoff, and a commit in it is
   * served within this. A hint after a longer silence starts a new storm whose first rebuild is immediate.
   * @default 50
   */
  stormQuietMs?: number;
  /**
   * `false`: a rebuild asked for by a push hint waits until no hint came for `stormQuietMs`, and at most
   * `maxRebuildIntervalMs` (spread by up to half), instead of starting at the first hint. A burst of commits
   * from other processes then costs each process one rebuild at its end (and one per `maxRebuildIntervalMs` while
   * it lasts) instead of one at its start and a backoff after it, which leaves the writer more CPU on a small
   * machine; every isolated commit reaches the other processes `stormQuietMs` later. Rebuilds a caller waits for
   * (this process's own commit, a check) are never held, those a poll or a resync found only when a hint came
   * within `stormQuietMs`. Pair it with a wider `minPublishIntervalMs` (and the Postgres store's
   * `minNotifyIntervalMs`), below `stormQuietMs`, for fewer wake-ups during a burst.
   * @default true
   */
  leadingRebuild?: boolean;
  /**
   * Notifier publishes of this process's commits: a commit less than this long after the previous publish of
   * the scope is published at the end of that window, with the newest version, instead of at once. In a burst
   * of commits every process then wakes once per window instead of once per commit (a hint only makes them
   * read the store, so one stands for all). An isolated commit publishes at once; a commit in a burst reaches
   * the other processes up to this much later. `0` publishes every commit at once.
   * Keep it well below the other processes' `stormQuietMs` (default 50): hints that come that far apart no
   * longer make a storm there, and every one of them gets its own rebuild (measured in the bench: 11 to 67
   * rebuilds per worker for 1,000 commits with 50 ms, 7 to 16 with 10 ms).
   * @default 10
   */
  minPublishIntervalMs?: number;
  /**
   * Push channels: a hint that arrives less than this long after the last store read started is answered by
   * one read at the end of that window, so a flood of hints (a storm of commits, forged messages) costs at
   * most one read per window (G10). The first hint after a quiet spell reads at once.
   * @default 20
   */
  minHintIntervalMs?: number;
  /**
   * A rebuild still running after this long is aborted (its `signal` fires) and counts as failed (G5).
   * @default 30000
   */
  rebuildTimeoutMs?: number;
  /**
   * A store read still pending after this long counts as failed, so a hung connection cannot stall checks.
   * @default 10000
   */
  readTimeoutMs?: number;
  /**
   * First retry delay after a failed rebuild; doubles per failure up to `retryMaxMs`, with jitter (G5).
   * @default 500
   */
  retryBaseMs?: number;
  /** @default 30000 */
  retryMaxMs?: number;
  /**
   * Where background problems are logged besides the `'error'` event. `false` silences it.
   * @default console (warn and error only)
   */
  logger?: Logger | false;
}

export interface ResolvedOptions {
  scope: string;
  mode: ReloaderMode;
  intervalMs: number;
  safetyIntervalMs: number;
  jitterMs: number;
  minCheckIntervalMs: number;
  minRebuildIntervalMs: number;
  maxRebuildIntervalMs: number;
  stormQuietMs: number;
  leadingRebuild: boolean;
  minPublishIntervalMs: number;
  minHintIntervalMs: number;
  rebuildTimeoutMs: number;
  readTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

const MODES: readonly ReloaderMode[] = ['push', 'interval', 'request'];
const MAX_DELAY = 2_147_483_647; // setTimeout's limit; larger values fire at once

function positive(
  options: Record<string, unknown>,
  key: string,
  fallback: number,
  allowZero = false,
): number {
  const value = options[key];
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (allowZero ? value >= 0 : value > 0) &&
    value <= MAX_DELAY;
  if (!ok) {
    throw new ApphookOptionError(
      `[apphook/core] ${key} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds up to ${MAX_DELAY}, got ${describe(value)}`,
    );
  }
  return value as number;
}

function boolean(options: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new ApphookOptionError(`[apphook/core] ${key} must be true or false, got ${describe(value)}`);
  }
  return value;
}

/** Validates everything up front so a misconfiguration fails at startup with a message, never later (G11). */
export function resolveOptions(options: ReloaderOptions<unknown, unknown>): ResolvedOptions {
  if (!options || typeof options !== 'object') {
    throw new ApphookOptionError(
      '[apphook/core] createReloader needs an options object: { store, binding, ... }',
    );
  }
  const { store, binding, notifier } = options;
  if (!store || typeof store.read !== 'function' || typeof store.bump !== 'function') {
    throw new ApphookOptionError(
      `[apphook/core] store is missing or is not a TokenStore (got ${describe(store)}); pass postgresStore(orm), mysqlStore(orm), sqliteStore(orm) or memoryStore()`,
    );
  }
  if (!binding || typeof binding.rebuild !== 'function' || typeof binding.swap !== 'function') {
    throw new ApphookOptionError(
      `[apphook/core] binding is missing or is not a Binding (got ${describe(binding)}); pass expressBinding({ rebuildRoutes }), callbackBinding({ rebuildRoutes }) or another binding`,
    );
  }
  if (notifier !== undefined) {
    if (!notifier || typeof notifier.publish !== 'function' || typeof notifier.subscribe !== 'function') {
      throw new ApphookOptionError(
        `[apphook/core] notifier is not a Notifier (got ${describe(notifier)}); pass redisNotifier({ client }) or leave it out`,
      );
    }
    if (typeof store.afterCommit !== 'function') {
      throw new ApphookOptionError(
        `[apphook/core] ${store.name} cannot run after-commit hooks, so a notifier could only publish before commit; use a store with afterCommit or leave the notifier out`,
      );
    }
  }
  const scope = options.scope ?? 'default';
  assertScope(scope, 'apphook/core');
  const canPush = typeof store.subscribe === 'function' || notifier !== undefined;
  const mode = options.mode ?? (canPush ? 'push' : 'interval');
  if (!MODES.includes(mode)) {
    throw new ApphookOptionError(
      `[apphook/core] mode must be 'push', 'interval' or 'request', got ${describe(mode)}`,
    );
  }
  if (mode === 'push' && !canPush) {
    throw new ApphookOptionError(
      `[apphook/core] mode 'push' needs a push channel, but ${store.name} has none and no notifier was given; pass notifier: redisNotifier({ client }), use postgresStore, or choose mode 'interval'`,
    );
  }
  const raw = options as unknown as Record<string, unknown>;
  const intervalMs = positive(raw, 'intervalMs', 1000);
  const safetyIntervalMs = positive(raw, 'safetyIntervalMs', 30_000);
  const retryBaseMs = positive(raw, 'retryBaseMs', 500);
  const retryMaxMs = positive(raw, 'retryMaxMs', 30_000);
  const minRebuildIntervalMs = positive(raw, 'minRebuildIntervalMs', 100, true);
  const maxRebuildIntervalMs = positive(
    raw,
    'maxRebuildIntervalMs',
    Math.max(1000, minRebuildIntervalMs),
    true,
  );
  if (maxRebuildIntervalMs < minRebuildIntervalMs) {
    throw new ApphookOptionError(
      `[apphook/core] maxRebuildIntervalMs (${maxRebuildIntervalMs}) must be at least minRebuildIntervalMs (${minRebuildIntervalMs}); pass the same value to turn the storm backoff off`,
    );
  }
  if (retryMaxMs < retryBaseMs) {
    throw new ApphookOptionError(
      `[apphook/core] retryMaxMs (${retryMaxMs}) must be at least retryBaseMs (${retryBaseMs})`,
    );
  }
  return {
    scope,
    mode,
    intervalMs,
    safetyIntervalMs,
    jitterMs: positive(raw, 'jitterMs', Math.round(intervalMs / 10), true),
    minCheckIntervalMs: positive(raw, 'minCheckIntervalMs', 0, true),
    minRebuildIntervalMs,
    maxRebuildIntervalMs,
    stormQuietMs: positive(raw, 'stormQuietMs', 50, true),
    leadingRebuild: boolean(raw, 'leadingRebuild', true),
    minPublishIntervalMs: positive(raw, 'minPublishIntervalMs', 10, true),
    minHintIntervalMs: positive(raw, 'minHintIntervalMs', 20, true),
    rebuildTimeoutMs: positive(raw, 'rebuildTimeoutMs', 30_000),
    readTimeoutMs: positive(raw, 'readTimeoutMs', 10_000),
    retryBaseMs,
    retryMaxMs,
  };
}
