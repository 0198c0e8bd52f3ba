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
export {
  DEFAULT_CHANNEL,
  PostgresStore,
  type PostgresStoreOptions,
  postgresStore,
} from './postgres-store.js';
