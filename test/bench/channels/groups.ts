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
}

export const CHANNEL_GROUPS: readonly ChannelGroup[] = [
  {
    id: 'pg-notify',
    label: 'Postgres NOTIFY (push)',
    db: 'postgres',
    mode: 'push',
    notify: true,
    redis: false,
    propagation: true,
    storm: true,
    pushTarget: true,
  },
  {
    id: 'redis',
    label: 'Redis (push, Postgres store)',
    db: 'postgres',
    mode: 'push',
    notify: false,
    redis: true,
    propagation: true,
    storm: true,
    pushTarget: true,
  },
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
    notify: false,
    redis: false,
    propagation: true,
    storm: true,
    pushTarget: false,
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
