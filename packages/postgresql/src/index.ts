export {
  ApphookToken,
  type ApphookTokenOptions,
  type ApphookTokenRow,
  afterCommit,
  defineApphookToken,
  registerAfterCommit,
  type WatchEntitiesOptions,
  watchEntities,
} from '@apphook/mikro-orm';
export type { ListenState, ListenStats } from './listen-connection.js';
export type { NotifyStats } from './notify-coalescing.js';
export {
  DEFAULT_CHANNEL,
  DEFAULT_MIN_NOTIFY_INTERVAL_MS,
  PostgresStore,
  type PostgresStoreOptions,
  postgresStore,
} from './postgres-store.js';
