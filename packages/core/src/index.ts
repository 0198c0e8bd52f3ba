export { AfterCommitQueue, runAfterCommitHooks } from './after-commit-queue.js';
export {
  type BindingCore,
  type BindingCoreOptions,
  type CallbackBinding,
  type CallbackBindingOptions,
  callbackBinding,
  createBindingCore,
  type ExposedBinding,
} from './binding-core.js';
export type {
  AfterCommitHook,
  AfterCommitOptions,
  Binding,
  HintListener,
  Logger,
  Notifier,
  RebuildContext,
  RebuildRoutes,
  ReloaderLink,
  ReloaderMode,
  StoreSnapshot,
  Subscription,
  TokenStore,
  Version,
} from './contracts.js';
export { type BuildDiagnostic, DIAGNOSTICS_CHANNELS } from './diagnostics.js';
export {
  ApphookError,
  type ApphookErrorCode,
  type ApphookErrorOptions,
  ApphookOptionError,
  ApphookRebuildError,
  isApphookError,
  toApphookError,
} from './errors.js';
export {
  type FirstBuildOptions,
  NOT_READY_MESSAGE,
  resolveFirstBuildOptions,
} from './first-build-options.js';
export { createLogger } from './logger.js';
export { type MemoryNotifier, memoryNotifier } from './memory-notifier.js';
export {
  type MemoryStore,
  type MemoryStoreOptions,
  type MemoryTransaction,
  memoryStore,
} from './memory-store.js';
export type { ReloaderOptions } from './options.js';
export { createReloader } from './reloader.js';
export type {
  ErrorPhase,
  ReloadEvent,
  Reloader,
  ReloaderErrorEvent,
  ReloaderEvents,
  ReloaderStats,
} from './reloader-types.js';
export { assertScope, describe as describeValue, isValidScope, SCOPE_MAX_LENGTH } from './scope.js';
export { attempt, backoffDelay, raceTimeout } from './timing.js';
