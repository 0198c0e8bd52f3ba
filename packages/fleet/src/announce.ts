/**
 * One process announces what its reloader serves. Invariants:
 * - at most one write in flight per announcer; a change during a write causes exactly one more (no reordering,
 *   so a slow old write can never land after a newer one and show an older version);
 * - writes happen on start, once per build (swap or failed build) and once per heartbeat, never more;
 * - after `stop()` nothing is written again and the entry is removed (the reader drops it at once);
 * - a failing write is reported to `onError` / the logger and never rejects into the app (the TTL covers it).
 */
import { hostname } from 'node:os';
import { ApphookOptionError, assertScope, createLogger, type Logger, type Reloader } from '@apphook/core';
import {
  ANNOUNCEMENT_FORMAT,
  type Announcement,
  clip,
  isValidId,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_NAME_LENGTH,
} from './announcement.js';
import type { FleetBackend } from './backend.js';

export interface AnnounceOptions {
  /** Where announcements go: `redisFleetBackend({ client })`, `sqlFleetBackend(orm)` or `memoryFleetBackend()`. */
  backend: FleetBackend;
  /**
   * A name for this process in the fleet view (at most 100 characters), e.g. `'web-3'` or the pod name.
   * @default `${hostname}:${pid}`
   */
  name?: string;
  /**
   * How often the entry is rewritten when nothing changes: one write per process per heartbeat.
   * @default 10000
   */
  heartbeatMs?: number;
  /**
   * How long an entry outlives its last write: a process that died (SIGKILL, lost host) drops out after it.
   * Must exceed `heartbeatMs`.
   * @default 3 * heartbeatMs
   */
  ttlMs?: number;
  /** Write failures go here (and to the logger). @default undefined */
  onError?(error: unknown): void;
  /** @default console (warn and error only) */
  logger?: Logger | false;
}

export interface Announcer {
  /** This process's entry id (`host:pid:random`). */
  readonly id: string;
  /** Writes made so far: start, builds and heartbeats. */
  readonly writes: number;
  /** Waits for the first write (made at once by `announce`). Never rejects. */
  ready(): Promise<void>;
  /** Stops the heartbeat and removes the entry, so fleet views drop this process at once. Idempotent. */
  stop(): Promise<void>;
}

/** What `announce` uses of a reloader: its scope, `stats()` and events. */
export type AnnouncedReloader = Pick<Reloader<unknown, unknown>, 'scope' | 'stats' | 'on'>;

const MAX_DELAY = 2_147_483_647;

function positiveMs(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_DELAY) {
    throw new ApphookOptionError(
      `[apphook/fleet] ${name} must be a whole number of milliseconds from 1 to ${MAX_DELAY}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Announces `reloader` to the fleet of its scope until `stop()`. Start it after `reloader.start()` (it announces
 * at once) and stop it before `reloader.stop()`.
 */
export function announce(reloader: AnnouncedReloader, options: AnnounceOptions): Announcer {
  if (
    !options ||
    typeof options !== 'object' ||
    !options.backend ||
    typeof options.backend.write !== 'function'
  ) {
    throw new ApphookOptionError(
      '[apphook/fleet] announce(reloader, { backend }) needs a backend: redisFleetBackend({ client }), sqlFleetBackend(orm) or memoryFleetBackend()',
    );
  }
  if (!reloader || typeof reloader.stats !== 'function' || typeof reloader.on !== 'function') {
    throw new ApphookOptionError('[apphook/fleet] announce() needs the reloader createReloader() returned');
  }
  assertScope(reloader.scope, 'apphook/fleet');
  const heartbeatMs = positiveMs(options.heartbeatMs, 'heartbeatMs', 10_000);
  const ttlMs = positiveMs(options.ttlMs, 'ttlMs', Math.min(3 * heartbeatMs, MAX_DELAY));
  if (ttlMs <= heartbeatMs) {
    throw new ApphookOptionError(
      `[apphook/fleet] ttlMs (${ttlMs}) must exceed heartbeatMs (${heartbeatMs}), or live processes drop out between heartbeats; use about 3 heartbeats`,
    );
  }
  const host = clip(hostname() || 'localhost', 255);
  const name = options.name ?? `${host}:${process.pid}`;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new ApphookOptionError(
      `[apphook/fleet] name must be a string of 1 to ${MAX_NAME_LENGTH} characters, got ${typeof name === 'string' ? `${name.length} characters` : typeof name}`,
    );
  }
  const { backend } = options;
  const logger = createLogger(options.logger);
  const scope = reloader.scope;
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
  const id = `${safeHost}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  if (!isValidId(id)) throw new ApphookOptionError(`[apphook/fleet] could not make an id from host ${host}`);
  const startedAt = Date.now();

  let stopped = false;
  let writes = 0;
  let inFlight: Promise<void> | undefined;
  let dirty = false;

  const payload = (): string => {
    const s = reloader.stats();
    const announcement: Announcement = {
      format: ANNOUNCEMENT_FORMAT,
      scope,
      id,
      host,
      pid: process.pid,
      name,
      mode: s.mode,
      version: s.version ?? null,
      latestSeen: s.latestSeen ?? null,
      channelsHealthy: s.channelsHealthy,
      lastBuildAt: s.lastReloadAt ?? null,
      lastBuildMs: s.lastBuildMs === undefined ? null : Math.round(s.lastBuildMs * 10) / 10,
      lastError: s.lastError
        ? {
            phase: s.lastError.phase,
            code: s.lastError.code,
            message: clip(s.lastError.message, MAX_ERROR_MESSAGE_LENGTH),
            at: s.lastError.at,
          }
        : null,
      startedAt,
      seenAt: Date.now(),
      ttlMs,
    };
    return JSON.stringify(announcement);
  };

  const report = (error: unknown) => {
    logger.warn(
      `[apphook/fleet] announcing scope '${scope}' through ${backend.name} failed; retrying at the next heartbeat: ${error instanceof Error ? error.message : String(error)}`,
    );
    try {
      options.onError?.(error);
    } catch {}
  };

  const write = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (inFlight) {
      dirty = true;
      return inFlight;
    }
    writes++;
    inFlight = Promise.resolve()
      .then(() => backend.write(scope, id, payload(), ttlMs))
      .catch(report)
      .finally(() => {
        inFlight = undefined;
        if (dirty && !stopped) {
          dirty = false;
          void write();
        }
      });
    return inFlight;
  };

  const offReload = reloader.on('reload', () => void write());
  const offError = reloader.on('error', ({ phase }) => {
    if (phase === 'rebuild') void write();
  });
  const timer = setInterval(() => void write(), heartbeatMs);
  timer.unref?.();
  void Promise.resolve(backend.prune?.(scope)).catch(() => {});
  const first = write();

  return {
    id,
    get writes() {
      return writes;
    },
    ready: () => first,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      offReload();
      offError();
      await inFlight;
      // Departure: readers drop this process at once instead of after its TTL.
      await Promise.resolve()
        .then(() => backend.remove(scope, id))
        .catch(report);
    },
  };
}
