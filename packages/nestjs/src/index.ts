export { ApphookModule } from './apphook-module.js';
export type {
  ApphookModuleAsyncOptions,
  ApphookModuleOptions,
  ApphookModuleSyncOptions,
} from './apphook-module-options.js';
export type { Platform } from './platform.js';
export { APPHOOK_BINDING, APPHOOK_OPTIONS, APPHOOK_RELOADER, InjectReloader } from './tokens.js';
