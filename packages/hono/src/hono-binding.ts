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
import type { Context, ExecutionContext, MiddlewareHandler, Next, NotFoundHandler } from 'hono';

const NAME = 'apphook/hono';

/** What the binding needs of a Hono app: `new Hono()` (with any env, schema or base path) fits. */
export interface HonoApp {
  fetch(request: Request, env?: unknown, executionCtx?: ExecutionContext): Response | Promise<Response>;
  notFound(handler: NotFoundHandler): unknown;
}

export interface HonoBindingOptions<R extends HonoApp> {
  /**
   * Builds the dynamic routes from the database: return a fresh `new Hono()` every time. Hono's default
   * router cannot take routes after its first match, and the one being served must not change (G6).
   */
  rebuildRoutes: RebuildRoutes<R>;
  /**
   * `true`: a request the rebuilt app does not match goes on to `next()` in the outer app; the binding sets
   * each built app's `notFound` handler to notice it (so your own `notFound` on that app is replaced).
   * `false`: the built app's own `notFound` answers.
   * @default true
   */
  fallthrough?: boolean;
  /**
   * `true`: `binding.middleware` hands the built app exactly the execution context the outer app got, or
   * none where it got none. Hono's `c.executionCtx` throws when there is none (Node, Bun), and that thrown
   * and caught error is most of what the middleware adds to a request there (about 1 us).
   * `false`: the middleware does not read it and the built app gets none (`c.executionCtx` throws in it),
   * for a runtime that gives none anyway. `binding.handler` always passes on what it is called with.
   * @default true
   */
  forwardExecutionCtx?: boolean;
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

export interface HonoBinding<R extends HonoApp> extends Binding<R> {
  /**
   * Mount with `app.use(binding.middleware)`: each request is handed to the app that was current when it
   * arrived (`app.fetch(c.req.raw, c.env, c.executionCtx)`, see `forwardExecutionCtx`) and stays on it (G6);
   * an unmatched path goes on to `next()` (see `fallthrough`).
   */
  readonly middleware: MiddlewareHandler;
  /**
   * A fetch handler, for `serve({ fetch: binding.handler })` or `app.mount('/prefix', binding.handler)`.
   * Nothing comes after it, so an unmatched path gets the 404.
   */
  readonly handler: (
    request: Request,
    env?: unknown,
    executionCtx?: ExecutionContext,
  ) => Response | Promise<Response>;
  /** The app now served, `undefined` before the first build. */
  readonly current: R | undefined;
  /** Its version, `undefined` before the first build. */
  readonly version: Version | undefined;
}

/**
 * The Hono binding (Hono 4): a fresh Hono app per build behind one stable delegating handler. A swap
 * replaces one reference, so nothing outside the rebuilt app (static routes, other middleware) is ever
 * touched (G6).
 */
export function honoBinding<R extends HonoApp>(options: HonoBindingOptions<R>): HonoBinding<R> {
  const { firstBuildWaitMs, retryAfter } = resolveFirstBuildOptions(NAME, options);
  const fallthrough = options?.fallthrough ?? true;
  if (typeof fallthrough !== 'boolean') {
    throw new ApphookOptionError(
      `[${NAME}] fallthrough must be true or false, got ${describeValue(fallthrough)}`,
    );
  }
  const forwardExecutionCtx = options?.forwardExecutionCtx ?? true;
  if (typeof forwardExecutionCtx !== 'boolean') {
    throw new ApphookOptionError(
      `[${NAME}] forwardExecutionCtx must be true or false, got ${describeValue(forwardExecutionCtx)}`,
    );
  }
  // Requests the built app did not match; keyed by the Request object, which the built app receives as is.
  const unmatched = new WeakSet<Request>();
  const markUnmatched: NotFoundHandler = (c) => {
    unmatched.add(c.req.raw);
    return c.text('404 Not Found', 404);
  };
  const core = createBindingCore<R>({
    name: NAME,
    rebuildRoutes: options?.rebuildRoutes,
    prepare(built, context) {
      // Reject it here, while the last good app still serves (G5), not on the first request.
      const app = built as Partial<HonoApp> | null | undefined;
      if (typeof app?.fetch !== 'function' || typeof app.notFound !== 'function') {
        throw new ApphookError(
          'E_REBUILD',
          `[${NAME}] rebuildRoutes returned ${describeValue(built)} for version ${context.version}; return a new Hono() app`,
        );
      }
      if (fallthrough) app.notFound(markUnmatched);
      return built as R;
    },
  });

  const unavailable = () =>
    new Response(NOT_READY_MESSAGE, {
      status: 503,
      headers: { 'Retry-After': retryAfter, 'Content-Type': 'text/plain; charset=utf-8' },
    });

  // No async functions on the hot path: when the app is built and its route answers synchronously, the
  // Response goes back synchronously too, and @hono/node-server writes such a Response on its fast path (no
  // promise, no close listener); an async wrapper cost more than the rest of the binding (bench section 1b).
  // Hono's dispatch and compose take a plain return from a middleware as they take a promise.
  const served = (request: Request, response: Response, next: Next): Response | Promise<unknown> =>
    // Delete, not has(): the mark is one request's; a matched request costs one lookup either way.
    unmatched.delete(request) ? next() : response;
  const serve = (app: R, c: Context, next: Next): Response | Promise<unknown> => {
    const request = c.req.raw;
    const response = app.fetch(request, c.env, forwardExecutionCtx ? executionContext(c) : undefined);
    return response instanceof Promise
      ? response.then<unknown>((r) => served(request, r, next))
      : served(request, response, next);
  };
  const middleware = ((c, next) => {
    // Taken once: a swap during this request does not change which app handles it (G6).
    const acquired = core.acquire(firstBuildWaitMs);
    if (!(acquired instanceof Promise)) return serve(acquired, c, next);
    return acquired.then<unknown>((app) => (app === undefined ? unavailable() : serve(app, c, next)));
  }) as MiddlewareHandler;

  const fetched = (request: Request, response: Response) => {
    // Nothing comes after the handler: an unmatched request keeps its 404, and its mark goes.
    unmatched.delete(request);
    return response;
  };
  const handle = (app: R, request: Request, env: unknown, executionCtx: ExecutionContext | undefined) => {
    const response = app.fetch(request, env, executionCtx);
    return response instanceof Promise
      ? response.then((r) => fetched(request, r))
      : fetched(request, response);
  };
  const handler = (request: Request, env?: unknown, executionCtx?: ExecutionContext) => {
    const acquired = core.acquire(firstBuildWaitMs);
    if (!(acquired instanceof Promise)) return handle(acquired, request, env, executionCtx);
    return acquired.then((app) =>
      app === undefined ? unavailable() : handle(app, request, env, executionCtx),
    );
  };

  return core.expose({ middleware, handler }) as HonoBinding<R>;
}

/**
 * `c.executionCtx`, or `undefined` where the runtime gave none (Node, Bun): Hono's getter then throws, and the
 * only way to tell is to catch it (Context keeps the value in a private field, with no other reader). The built
 * app must see exactly what the outer one got (Hono's own mount and method-override middleware probe it the
 * same way), so it is probed, not guessed from the runtime. Without a stack trace, though: capturing one cost
 * about 8 us per request. The throw alone still costs about 1 us, most of what the middleware adds on Node;
 * `forwardExecutionCtx: false` skips the probe.
 */
function executionContext(c: Context): ExecutionContext | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
}
