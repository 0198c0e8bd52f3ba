export {
  AfterCommitSubscriber,
  afterCommit,
  beforeCommit,
  type RegisterAfterCommitOptions,
  registerAfterCommit,
} from './after-commit.js';
export type { BeforeCommitHook } from './commit-queues.js';
export {
  driverConnectionOptions,
  driverName,
  nativeDriverConnection,
  type SavepointOutcome,
  sqlLayer,
  type UntrackedSavepoint,
  untrackedSavepoint,
} from './orm-compat.js';
export { isConnectionError, isMissingTableError, isRetryableError } from './sql-errors.js';
export {
  type SqlExecutor,
  type SqlFamily,
  SqlTokenStore,
  type SqlTokenStoreOptions,
} from './sql-token-store.js';
export { assertTableName, DEFAULT_TABLE_NAME } from './table-name.js';
export {
  ApphookToken,
  type ApphookTokenOptions,
  type ApphookTokenRow,
  defineApphookToken,
} from './token-entity.js';
export { isTokenEntityRegistered } from './token-registration.js';
export {
  type MarkChangedTarget,
  type Unwatch,
  type WatchEntitiesOptions,
  watchEntities,
} from './watch-entities.js';
