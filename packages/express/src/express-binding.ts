import {
  ApphookError,
  type Binding,
  createBindingCore,
  describeValue,
  NOT_READY_MESSAGE,
  type RebuildRoutes,
  resolveFirstBuildOptions,
  type Version,
} from '@apphook/core';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { reachesHandler } from './reaches-handler.js';

const NAME = 'apphook/express';

export interface ExpressBindingOptions<R extends RequestHandler = Router> {
  /**
   * Builds the dynamic routes from the database: return a fresh `express.Router()` (or any
   * `(req, res, next)` handler, such as a sub-app) every time; never mutate the one being served (G6), and
   * never return the app that mounts `binding.middleware` (refused as a failed build: requests would loop).
   */
  rebuildRoutes: RebuildRoutes<R>;
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

export interface ExpressBinding<R extends RequestHandler = Router> extends Binding<R> {
  /**
   * Mount with `app.use(binding.middleware)` (or under a path). Each request is handed to the router that
   * was current when it arrived, and stays on it (G6); a path the router does not match goes on to `next()`.
   */
  readonly middleware: RequestHandler;
  /** The router now served, `undefined` before the first build. */
  readonly current: R | undefined;
  /** Its version, `undefined` before the first build. */
  readonly version: Version | undefined;
}

/**
 * The Express binding (Express 5, and Express 4 which has the same `(req, res, next)` router contract): one
 * stable middleware that delegates to the router of the latest build. A swap replaces one reference, so
 * nothing outside the rebuilt router (static routes, other middleware) is ever touched (G6).
 */
export function expressBinding<R extends RequestHandler = Router>(
  options: ExpressBindingOptions<R>,
): ExpressBinding<R> {
  const { firstBuildWaitMs, retryAfter } = resolveFirstBuildOptions(NAME, options);
  const core = createBindingCore<R>({
    name: NAME,
    rebuildRoutes: options?.rebuildRoutes,
    prepare(built, context) {
      // Reject it here, while the last good router still serves (G5), not on the first request.
      if (typeof built !== 'function') {
        throw new ApphookError(
          'E_REBUILD',
          `[${NAME}] rebuildRoutes returned ${describeValue(built)} for version ${context.version}; return an express.Router() (or another (req, res, next) handler)`,
        );
      }
      if (reachesHandler(built, middleware)) {
        throw new ApphookError(
          'E_REBUILD',
          `[${NAME}] rebuildRoutes returned a handler that mounts this binding's own middleware (the outer app?) for version ${context.version}: every request would loop back into it; return a new express.Router() holding only the database-defined routes`,
        );
      }
      return built as R;
    },
  });

  const dispatch = (routes: R | undefined, req: Request, res: Response, next: NextFunction): void => {
    if (routes === undefined) {
      unavailable(res, next, retryAfter);
      return;
    }
    try {
      routes(req, res, next);
    } catch (error) {
      next(error);
    }
  };

  // A function declaration, so prepare() above can refer to it.
  function middleware(req: Request, res: Response, next: NextFunction): void {
    // Taken once: a swap during this request does not change which router handles it (G6).
    const acquired = core.acquire(firstBuildWaitMs);
    if (acquired instanceof Promise) {
      acquired.then((routes) => dispatch(routes, req, res, next), next);
    } else {
      dispatch(acquired, req, res, next);
    }
  }

  return core.expose({ middleware }) as ExpressBinding<R>;
}

function unavailable(res: Response, next: NextFunction, retryAfter: string): void {
  if (res.headersSent) {
    next(new ApphookError('E_STATE', `[${NAME}] routes are not built yet`));
    return;
  }
  res.statusCode = 503;
  res.setHeader('Retry-After', retryAfter);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(NOT_READY_MESSAGE);
}
