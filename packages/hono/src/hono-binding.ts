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
import type { Context, ExecutionContext, MiddlewareHandler, NotFoundHandler } from 'hono';

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
   * arrived (`app.fetch(c.req.raw, c.env, c.executionCtx)`) and stays on it (G6); an unmatched path goes on
   * to `next()` (see `fallthrough`).
   */
  readonly middleware: MiddlewareHandler;
  /**
   * A fetch handler, for `serve({ fetch: binding.handler })` or `app.mount('/prefix', binding.handler)`.
   * Nothing comes after it, so an unmatched path gets the 404.
   */
  readonly handler: (request: Request, env?: unknown, executionCtx?: ExecutionContext) => Promise<Response>;
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

  const acquire = (): R | Promise<R | undefined> => core.acquire(firstBuildWaitMs);
  const unavailable = () =>
    new Response(NOT_READY_MESSAGE, {
      status: 503,
      headers: { 'Retry-After': retryAfter, 'Content-Type': 'text/plain; charset=utf-8' },
    });

  const middleware: MiddlewareHandler = async (c, next) => {
    // Taken once: a swap during this request does not change which app handles it (G6).
    const acquired = acquire();
    const app = acquired instanceof Promise ? await acquired : acquired;
    if (app === undefined) return unavailable();
    const request = c.req.raw;
    const response = await app.fetch(request, c.env, executionContext(c));
    if (unmatched.has(request)) {
      unmatched.delete(request);
      await next();
      return;
    }
    return response;
  };

  const handler = async (request: Request, env?: unknown, executionCtx?: ExecutionContext) => {
    const acquired = acquire();
    const app = acquired instanceof Promise ? await acquired : acquired;
    if (app === undefined) return unavailable();
    const response = await app.fetch(request, env, executionCtx);
    unmatched.delete(request);
    return response;
  };

  return core.expose({ middleware, handler }) as HonoBinding<R>;
}

/**
 * `c.executionCtx`, or `undefined` where the runtime gave none (Node, Bun): Hono's getter then throws, and the
 * only way to tell is to catch it. The built app must see exactly what the outer one got (Hono's own mount and
 * method-override middleware probe it the same way), so it is probed, not guessed from the runtime. Without a
 * stack trace, though: capturing one cost about 8 us per request, as much as the rest of Hono's request, and
 * was the binding's whole measured overhead in Node (bench section 1b).
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
