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
export { SqliteStore, type SqliteStoreOptions, type SqliteStoreStats, sqliteStore } from './sqlite-store.js';
