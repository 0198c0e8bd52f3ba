import {
  ApphookOptionError,
  type Binding,
  type FirstBuildOptions,
  type RebuildRoutes,
  type ReloaderOptions,
  type TokenStore,
} from '@apphook/core';
import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';

export const NAME = 'apphook/nestjs';

export interface ApphookModuleOptions
  extends Omit<ReloaderOptions<unknown, unknown>, 'binding' | 'store'>,
    FirstBuildOptions {
  /**
   * Where the version lives: `postgresStore(orm)`, `mysqlStore(orm)`, `sqliteStore(orm)`, `memoryStore()`.
   * The module then creates the reloader, starts it in `onApplicationBootstrap` (so the first build serves
   * before `listen()`) and stops it in `onModuleDestroy`. Leave it out to only mount `binding`, whose
   * reloader you create and start yourself.
   */
  store?: TokenStore<unknown>;
  /**
   * Builds the dynamic routes of a version from the database. Return what the platform's binding takes: an
   * `express.Router()` on `@nestjs/platform-express`, a Fastify plugin on `@nestjs/platform-fastify`, any
   * value in an application context without HTTP (`NestFactory.createApplicationContext`, a job worker).
   * Give this or `binding`.
   */
  rebuildRoutes?: RebuildRoutes<unknown>;
  /** A binding you made yourself (`expressBinding(...)`, `fastifyBinding(...)`), instead of `rebuildRoutes`. */
  binding?: Binding<unknown>;
  /**
   * Where the dynamic routes are mounted. Nest's global prefix does not apply to them: include it here.
   * @default '/'
   */
  path?: string;
  /**
   * `@nestjs/platform-fastify`: options of the fresh Fastify instance each build makes (see `fastifyBinding`).
   * Typed loosely so that the module's types do not reference fastify: an Express application compiles
   * without fastify installed. For checked options, pass `binding: fastifyBinding({ instanceOptions })`.
   * @default { logger: false }
   */
  fastifyInstanceOptions?: object;
}

export interface ApphookModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Returns the options; runs once, with the providers listed in `inject`. */
  useFactory: (...args: never[]) => ApphookModuleOptions | Promise<ApphookModuleOptions>;
  /** Providers passed to `useFactory`, e.g. your `PagesService` or the MikroORM instance. */
  inject?: FactoryProvider['inject'];
  /**
   * Register the module globally, so `APPHOOK_RELOADER` can be injected anywhere (like the ORM modules).
   * @default true
   */
  isGlobal?: boolean;
}

export interface ApphookModuleSyncOptions extends ApphookModuleOptions {
  /** @default true */
  isGlobal?: boolean;
}

/** Validates the options before anything is created, so a wrong setup fails at bootstrap with a message (G11). */
export function checkModuleOptions(options: ApphookModuleOptions): ApphookModuleOptions {
  if (!options || typeof options !== 'object') {
    throw new ApphookOptionError(
      `[${NAME}] ApphookModule needs options: { store, rebuildRoutes, ... } (or useFactory returning them)`,
    );
  }
  const { store, rebuildRoutes, binding, path } = options;
  if (rebuildRoutes !== undefined && binding !== undefined) {
    throw new ApphookOptionError(
      `[${NAME}] pass rebuildRoutes or binding, not both: the module makes the platform's binding from rebuildRoutes`,
    );
  }
  if (binding === undefined && typeof rebuildRoutes !== 'function') {
    throw new ApphookOptionError(
      `[${NAME}] rebuildRoutes must be a function ({ version, signal }) => routes (or pass binding), got ${typeof rebuildRoutes}`,
    );
  }
  if (
    binding !== undefined &&
    (typeof binding?.rebuild !== 'function' || typeof binding.swap !== 'function')
  ) {
    throw new ApphookOptionError(
      `[${NAME}] binding is not an apphook binding; pass expressBinding(...) or fastifyBinding(...)`,
    );
  }
  if (store === undefined && binding === undefined) {
    throw new ApphookOptionError(
      `[${NAME}] store is missing: pass store (postgresStore(orm), memoryStore(), ...) so the module creates the reloader, or pass the binding of a reloader you create yourself`,
    );
  }
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new ApphookOptionError(`[${NAME}] path must start with '/', got ${JSON.stringify(path)}`);
  }
  return options;
}

/** `'/pages/'` → `'/pages'`, `'/'` → `''`. */
export function mountPath(path: string | undefined): string {
  return (path ?? '/').replace(/\/+$/, '');
}
