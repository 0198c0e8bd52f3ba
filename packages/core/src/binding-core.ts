import type { Binding, Logger, RebuildContext, RebuildRoutes, ReloaderLink, Version } from './contracts.js';
import { ApphookError, ApphookOptionError } from './errors.js';
import { createLogger } from './logger.js';
import { describe } from './scope.js';

export interface BindingCoreOptions<R> {
  /** The user's function that builds routes from the database. */
  rebuildRoutes: RebuildRoutes<R>;
  /** Package name for messages, e.g. `'apphook/express'`. */
  name: string;
  /**
   * Checks what `rebuildRoutes` returned and may turn it into what is swapped in (a Router from an array of
   * route definitions, say). Throw to reject a build: the last good routes keep serving (G5).
   */
  prepare?(built: unknown, context: RebuildContext): R | Promise<R>;
  /**
   * Where the binding says why requests get 503 when no reloader serves it.
   * @default console (warn and error only)
   */
  logger?: Logger | false;
}

export interface BindingCore<R> {
  /** Pass this (or an object extending it) to `createReloader`. */
  readonly binding: Binding<R>;
  /** The routes now served, `undefined` before the first build. */
  readonly current: R | undefined;
  readonly version: Version | undefined;
  /** The reloader this binding serves, once `createReloader` attached it. */
  readonly link: ReloaderLink | undefined;
  /**
   * The routes a new request should use. Synchronous in `push` and `interval` modes once built (G7: no I/O,
   * no allocation beyond the call); in `request` mode it first awaits the reloader's shared check. Before the
   * first build it waits up to `waitMs` (through the reloader's one wait list), then gives `undefined`: answer
   * 503 with Retry-After. Why it gives `undefined` is logged once: no reloader was created for this binding,
   * or `reloader.start()` was never called.
   */
  acquire(waitMs: number): R | Promise<R | undefined>;
  /**
   * The object a binding package returns: the `Binding` methods, live `current` and `version` getters, and the
   * package's own members (`middleware`, `handler`, ...).
   */
  expose<T extends object>(extra: T): ExposedBinding<R> & T;
}

/** A binding as packages hand it to users: the `Binding` plus what it now serves. */
export interface ExposedBinding<R> extends Binding<R> {
  /** The routes now served, `undefined` before the first build. */
  readonly current: R | undefined;
  readonly version: Version | undefined;
}

/**
 * The part every framework binding shares: holds the current routes in one variable that a swap replaces
 * (G6: a request keeps the reference it took), attaches to the reloader, and lets requests wait for the
 * first build.
 */
export function createBindingCore<R>(options: BindingCoreOptions<R>): BindingCore<R> {
  if (!options || typeof options.rebuildRoutes !== 'function') {
    throw new ApphookOptionError(
      `[${options?.name ?? 'apphook'}] rebuildRoutes must be a function ({ version, signal }) => routes, got ${describe(options?.rebuildRoutes)}`,
    );
  }
  const { rebuildRoutes, name, prepare } = options;
  const logger = createLogger(options.logger);
  let current: R | undefined;
  let version: Version | undefined;
  let link: ReloaderLink | undefined;
  let warnedUnattached = false;

  const binding: Binding<R> = {
    async rebuild(context) {
      const built = await rebuildRoutes(context);
      if (prepare) return prepare(built, context);
      if (built === undefined || built === null) {
        throw new ApphookError(
          'E_REBUILD',
          `[${name}] rebuildRoutes returned ${describe(built)} for version ${context.version}; return the routes to serve`,
        );
      }
      return built;
    },
    swap(routes, info) {
      current = routes;
      version = info.version;
    },
    attach(next) {
      if (link && link !== next) {
        throw new ApphookOptionError(
          `[${name}] this binding already serves the reloader of scope '${link.scope}'; create one binding per reloader`,
        );
      }
      link = next;
    },
    detach(previous) {
      if (link === previous) link = undefined;
    },
  };

  /** Waits for the first build through the reloader's scheduler: one way to wait (G12). */
  const waitFirst = (waitMs: number): Promise<R | undefined> => {
    if (current !== undefined) return Promise.resolve(current);
    if (!link) {
      if (!warnedUnattached) {
        warnedUnattached = true;
        logger.warn(
          `[${name}] a request arrived but no reloader serves this binding, so it gets 503: pass the binding to createReloader({ binding, ... }) and call reloader.start()`,
        );
      }
      return Promise.resolve(undefined);
    }
    return link.ready(waitMs).then(() => current);
  };

  return {
    binding,
    get current() {
      return current;
    },
    get version() {
      return version;
    },
    get link() {
      return link;
    },
    expose<T extends object>(extra: T) {
      const members = Object.fromEntries(
        Object.entries(extra).map(([key, value]) => [key, { value, enumerable: true }]),
      );
      return Object.defineProperties(Object.assign({}, binding), {
        ...members,
        current: { get: () => current, enumerable: true },
        version: { get: () => version, enumerable: true },
      }) as ExposedBinding<R> & T;
    },
    acquire(waitMs) {
      if (link?.mode === 'request') {
        return link.check().then(() => waitFirst(waitMs));
      }
      if (current !== undefined) return current;
      return waitFirst(waitMs);
    },
  };
}

export interface CallbackBindingOptions<R> {
  /** Builds whatever this process needs from the database: a route map for a link builder, say. */
  rebuildRoutes: RebuildRoutes<R>;
}

/** `current` is the latest build, `undefined` before the first. */
export type CallbackBinding<R> = ExposedBinding<R>;

/**
 * The binding for processes that are not HTTP servers (job workers, link builders): same guarantees, and
 * the build is read from `binding.current` or `reloader.current`.
 */
export function callbackBinding<R>(options: CallbackBindingOptions<R>): CallbackBinding<R> {
  const core = createBindingCore<R>({ rebuildRoutes: options?.rebuildRoutes, name: 'apphook/core' });
  return core.expose({});
}
