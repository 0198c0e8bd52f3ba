import {
  ApphookError,
  ApphookOptionError,
  type Binding,
  createBindingCore,
  describeValue,
  NOT_READY_MESSAGE,
  type RebuildRoutes,
  resolveFirstBuildOptions,
  type Version,
} from '@apphook/core';
import type { AllowedMethodsOptions, Router } from '@koa/router';
import type { Context, Middleware, Next } from 'koa';

const NAME = 'apphook/koa';

export interface KoaBindingOptions<R extends Router = Router> {
  /**
   * Builds the dynamic routes from the database: return a fresh `new Router()` every time; never add routes
   * to the one being served (G6). Its `routes()` and `allowedMethods()` are swapped in together.
   */
  rebuildRoutes: RebuildRoutes<R>;
  /**
   * Options for the rebuilt router's `allowedMethods()` (405/501 and `OPTIONS` for dynamic paths), or
   * `false` to mount `routes()` alone.
   * @default {}
   */
  allowedMethods?: AllowedMethodsOptions | false;
  /**
   * How long a request that arrives before the first build waits for it, before the binding answers 503
   * with `Retry-After`. `0` answers 503 at once.
   * @default 5000
   */
  firstBuildWaitMs?: number;
  /**
   * The `Retry-After` header (seconds) of that 503.
   * @default 1
   */
  retryAfterSeconds?: number;
}

export interface KoaBinding<R extends Router = Router> extends Binding<R> {
  /**
   * Mount with `app.use(binding.middleware)`. Each request runs `routes()` then `allowedMethods()` of the
   * router that was current when it arrived, and stays on it (G6); an unmatched path goes on to `next()`.
   */
  readonly middleware: Middleware;
  /** The router now served, `undefined` before the first build. */
  readonly current: R | undefined;
  /** Its version, `undefined` before the first build. */
  readonly version: Version | undefined;
}

/**
 * The Koa binding (Koa 3, `@koa/router`): one stable middleware that delegates to the router of the latest
 * build, its `routes()` and `allowedMethods()` composed. A swap replaces one reference, so nothing outside
 * the rebuilt router (static routes, other middleware) is ever touched (G6).
 */
export function koaBinding<R extends Router = Router>(options: KoaBindingOptions<R>): KoaBinding<R> {
  const { firstBuildWaitMs, retryAfter } = resolveFirstBuildOptions(NAME, options);
  const allowed = options?.allowedMethods ?? {};
  if (allowed !== false && (typeof allowed !== 'object' || allowed === null)) {
    throw new ApphookOptionError(
      `[${NAME}] allowedMethods must be an options object for router.allowedMethods() or false, got ${describeValue(allowed)}`,
    );
  }
  // Composed once per build, when it is made, so a request only looks it up (G7).
  const composed = new WeakMap<R, Middleware>();
  const core = createBindingCore<R>({
    name: NAME,
    rebuildRoutes: options?.rebuildRoutes,
    prepare(built, context) {
      // Reject it here, while the last good router still serves (G5), not on the first request.
      if (!isRouter(built)) {
        throw new ApphookError(
          'E_REBUILD',
          `[${NAME}] rebuildRoutes returned ${describeValue(built)} for version ${context.version}; return a new Router() from @koa/router`,
        );
      }
      const router = built as R;
      const routes = router.routes() as Middleware;
      if (allowed === false) {
        composed.set(router, routes);
      } else {
        const methods = router.allowedMethods(allowed) as Middleware;
        composed.set(router, (ctx, next) => routes(ctx, () => methods(ctx, next)));
      }
      return router;
    },
  });

  const dispatch = (router: R | undefined, ctx: Context, next: Next): Promise<void> | void => {
    const handle = router && composed.get(router);
    if (!handle) {
      ctx.status = 503;
      ctx.set('Retry-After', retryAfter);
      ctx.type = 'text/plain';
      ctx.body = NOT_READY_MESSAGE;
      return;
    }
    return handle(ctx, next) as Promise<void>;
  };

  const middleware: Middleware = (ctx, next) => {
    // Taken once: a swap during this request does not change which router handles it (G6).
    const acquired = core.acquire(firstBuildWaitMs);
    if (acquired instanceof Promise) return acquired.then((router) => dispatch(router, ctx, next));
    return dispatch(acquired, ctx, next);
  };

  return core.expose({ middleware }) as KoaBinding<R>;
}

function isRouter(value: unknown): value is Router {
  const candidate = value as Partial<Router> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.routes === 'function' &&
    typeof candidate.allowedMethods === 'function'
  );
}
