import type { ReloaderMode } from '@apphook/core';
import type { DbKind } from '@apphook/example-pages-site/db';

/** One way changes reach the workers: a database, a mode and what carries the hint. */
export interface ChannelGroup {
  id: string;
  label: string;
  db: DbKind;
  mode: ReloaderMode;
  intervalMs?: number;
  /** Postgres NOTIFY on (the store's own push). */
  notify: boolean;
  redis: boolean;
  /** Which parts run in this group. */
  propagation: boolean;
  storm: boolean;
  /** The convergence targets apply to push channels only. */
  pushTarget: boolean;
  /**
   * At most this many propagation commits (fewer than the run's): for a slow poll, whose isolated commits each
   * take most of a poll interval, so the group stays within the run's time.
   */
  propagationCommits?: number;
  /** Worker count when not the run's default (the 2-worker propagation runs). */
  workers?: number;
  /** Measure idle reads (default true). */
  idle?: boolean;
  /** Reloader options of this group's workers, over the run's. */
  reloaderOptions?: Record<string, unknown>;
  /**
   * The writer's publish window: its reloader's `minPublishIntervalMs` (Redis) and its Postgres store's
   * `minNotifyIntervalMs` (NOTIFY). Default: the library's (10 ms).
   */
  windowMs?: number;
  /**
   * Storms run in sets, each with its own baseline (`stormBaseline`) storming in the same rounds: every group of a
   * set has its workers alive at once, and one set of all groups would hold more connections than a default
   * Postgres allows (each worker's pool has 2). @default 1
   */
  stormSet?: number;
  /** This set's interval baseline: the push groups of its set are compared with its storms. */
  stormBaseline?: true;
  /**
   * What this group's options add by design to an isolated commit's propagation (with `leadingRebuild: false`:
   * `stormQuietMs`): its propagation bound is 20 ms + this + one rebuild.
   */
  heldMs?: number;
}

const PG_NOTIFY: ChannelGroup = {
  id: 'pg-notify',
  label: 'Postgres NOTIFY (push)',
  db: 'postgres',
  mode: 'push',
  notify: true,
  redis: false,
  propagation: true,
  storm: true,
  pushTarget: true,
};

const REDIS: ChannelGroup = {
  id: 'redis',
  label: 'Redis (push, Postgres store)',
  db: 'postgres',
  mode: 'push',
  notify: false,
  redis: true,
  propagation: true,
  storm: true,
  pushTarget: true,
};

/**
 * The storm's trade (issue 15) on a push group: no rebuild at a storm's first hint, and fewer hints (a 25 ms
 * publish/NOTIFY window). Every isolated commit pays stormQuietMs more (its propagation bound says so); a burst
 * costs one rebuild at its end. Storm set 2, against a baseline of its own.
 */
function trailing(group: ChannelGroup, label: string): ChannelGroup {
  return {
    ...group,
    id: `${group.id}-trailing`,
    label,
    reloaderOptions: { leadingRebuild: false },
    windowMs: 25,
    heldMs: 50,
    stormSet: 2,
  };
}

export const CHANNEL_GROUPS: readonly ChannelGroup[] = [
  PG_NOTIFY,
  REDIS,
  trailing(PG_NOTIFY, 'Postgres NOTIFY (push, leadingRebuild: false, 25 ms window)'),
  trailing(REDIS, 'Redis (push, Postgres store, leadingRebuild: false, 25 ms window)'),
  {
    id: 'poll-100ms',
    label: 'Postgres polling 100 ms (interval)',
    db: 'postgres',
    mode: 'interval',
    intervalMs: 100,
    notify: false,
    redis: false,
    propagation: true,
    storm: true,
    pushTarget: false,
  },
  {
    id: 'poll-1s',
    label: 'Postgres polling 1 s (interval)',
    db: 'postgres',
    mode: 'interval',
    intervalMs: 1000,
    // Each isolated commit waits about half a poll for its read: 30 of them take as long as 100 at 100 ms.
    propagationCommits: 30,
    notify: false,
    redis: false,
    propagation: true,
    storm: true,
    pushTarget: false,
    stormBaseline: true,
  },
  {
    // The baseline of storm set 2 (the trailing groups): poll-1s again, storming in that set's rounds.
    id: 'poll-1s-2',
    label: 'Postgres polling 1 s (interval), storm set 2',
    db: 'postgres',
    mode: 'interval',
    intervalMs: 1000,
    notify: false,
    redis: false,
    propagation: false,
    idle: false,
    storm: true,
    pushTarget: false,
    stormSet: 2,
    stormBaseline: true,
  },
  {
    id: 'sqlite-poll',
    label: 'SQLite polling 100 ms (interval)',
    db: 'sqlite',
    mode: 'interval',
    intervalMs: 100,
    notify: false,
    redis: false,
    propagation: true,
    storm: true,
    pushTarget: false,
  },
  {
    id: 'pg-request',
    label: 'Postgres request mode (idle only)',
    db: 'postgres',
    mode: 'request',
    notify: true,
    redis: false,
    propagation: false,
    storm: false,
    pushTarget: false,
  },
];

/**
 * Propagation again with 2 workers: one per core, so rebuilds do not queue for CPU behind each other and the
 * push delay itself shows against the 20 ms + one rebuild target.
 */
export const TWO_WORKER_GROUPS: readonly ChannelGroup[] = CHANNEL_GROUPS.filter((g) => g.pushTarget).map(
  (g) => ({
    ...g,
    id: `${g.id}-2w`,
    workers: 2,
    storm: false,
    idle: false,
  }),
);

/** The push groups that trade an isolated commit's stormQuietMs for the storm (leadingRebuild: false). */
export const TRAILING_GROUPS = CHANNEL_GROUPS.filter((g) => g.reloaderOptions?.leadingRebuild === false).map(
  (g) => g.id,
);

/**
 * The interval group whose storm commit rate a push storm is compared with (the writer is not slowed by it); each
 * storm set has its own (`stormBaseline`), this is set 1's.
 */
export const STORM_BASELINE = 'poll-1s';
