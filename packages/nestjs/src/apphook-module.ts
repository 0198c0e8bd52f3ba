import { ApphookOptionError, type Binding, createReloader } from '@apphook/core';
import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApphookLifecycle } from './apphook-lifecycle.js';
import {
  type ApphookModuleAsyncOptions,
  type ApphookModuleOptions,
  type ApphookModuleSyncOptions,
  checkModuleOptions,
  NAME,
} from './apphook-module-options.js';
import { createPlatformBinding, type Platform, platformOf } from './platform.js';
import { APPHOOK_BINDING, APPHOOK_OPTIONS, APPHOOK_PLATFORM, APPHOOK_RELOADER } from './tokens.js';

/**
 * `ApphookModule.forRoot({ store, rebuildRoutes })`: makes the binding of the application's platform,
 * mounts its delegating handler, creates the reloader, starts it on bootstrap and stops it on shutdown.
 * Inject the reloader with `@Inject(APPHOOK_RELOADER)` (or `@InjectReloader()`) to call `markChanged(em)`.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static forRoot methods.
export class ApphookModule {
  static forRoot(options: ApphookModuleSyncOptions): DynamicModule {
    const { isGlobal = true, ...rest } = options ?? ({} as ApphookModuleSyncOptions);
    return moduleWith({ provide: APPHOOK_OPTIONS, useValue: checkModuleOptions(rest) }, [], isGlobal);
  }

  /** For options that need other providers: `useFactory: (pages: PagesService) => ({ ... }), inject: [PagesService]`. */
  static forRootAsync(options: ApphookModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new ApphookOptionError(
        `[${NAME}] ApphookModule.forRootAsync needs useFactory: (...injected) => ({ store, rebuildRoutes, ... })`,
      );
    }
    const { useFactory } = options;
    return moduleWith(
      {
        provide: APPHOOK_OPTIONS,
        useFactory: async (...args: unknown[]) => checkModuleOptions(await useFactory(...(args as never[]))),
        inject: options.inject ?? [],
      },
      options.imports ?? [],
      options.isGlobal ?? true,
    );
  }
}

function moduleWith(
  optionsProvider: Provider,
  imports: NonNullable<ApphookModuleAsyncOptions['imports']>,
  global: boolean,
): DynamicModule {
  return {
    module: ApphookModule,
    global,
    imports,
    providers: [
      optionsProvider,
      {
        provide: APPHOOK_PLATFORM,
        useFactory: (host: HttpAdapterHost): Platform => platformOf(host.httpAdapter),
        inject: [HttpAdapterHost],
      },
      {
        provide: APPHOOK_BINDING,
        useFactory: (options: ApphookModuleOptions, platform: Platform) =>
          createPlatformBinding(options, platform),
        inject: [APPHOOK_OPTIONS, APPHOOK_PLATFORM],
      },
      {
        provide: APPHOOK_RELOADER,
        useFactory: (options: ApphookModuleOptions, binding: Binding<unknown>) => {
          const {
            store,
            rebuildRoutes: _rebuildRoutes,
            binding: _binding,
            path: _path,
            firstBuildWaitMs: _firstBuildWaitMs,
            retryAfterSeconds: _retryAfterSeconds,
            fastifyInstanceOptions: _fastifyInstanceOptions,
            ...reloaderOptions
          } = options;
          // Without a store the module only mounts: the reloader of this binding is the caller's.
          return store ? createReloader({ ...reloaderOptions, store, binding }) : null;
        },
        inject: [APPHOOK_OPTIONS, APPHOOK_BINDING],
      },
      ApphookLifecycle,
    ],
    exports: [APPHOOK_RELOADER, APPHOOK_BINDING, APPHOOK_OPTIONS],
  };
}
