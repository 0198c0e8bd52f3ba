import type { Binding, Reloader } from '@apphook/core';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ApphookModuleOptions } from './apphook-module-options.js';
import { mountBinding, type Platform } from './platform.js';
import { APPHOOK_BINDING, APPHOOK_OPTIONS, APPHOOK_PLATFORM, APPHOOK_RELOADER } from './tokens.js';

/**
 * Ties the binding and the reloader to the Nest lifecycle. Every dependency is named with `@Inject`, so
 * it works without `emitDecoratorMetadata` (esbuild, SWC without metadata, vitest).
 */
@Injectable()
export class ApphookLifecycle implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(APPHOOK_OPTIONS) private readonly options: ApphookModuleOptions,
    @Inject(APPHOOK_BINDING) private readonly binding: Binding<unknown>,
    @Inject(APPHOOK_RELOADER) private readonly reloader: Reloader | null,
    @Inject(APPHOOK_PLATFORM) private readonly platform: Platform,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Controllers are registered by now and Nest's not-found handler is not: dynamic routes go between. */
  onModuleInit(): void {
    mountBinding(this.binding, this.adapterHost.httpAdapter, this.platform, this.options.path);
  }

  /**
   * After every `onModuleInit` (the ORM is connected) and before `listen()`: the first build serves before
   * the first request. A first build that fails rejects `app.init()` / `app.listen()`.
   */
  async onApplicationBootstrap(): Promise<void> {
    await this.reloader?.start();
  }

  /** First of the shutdown hooks: polling and listening stop before other modules close the ORM or Redis. */
  async onModuleDestroy(): Promise<void> {
    await this.reloader?.stop();
  }
}
