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
export { MysqlStore, type MysqlStoreOptions, mysqlStore } from './mysql-store.js';
