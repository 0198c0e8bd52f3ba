import type { ApphookBuild } from './apphook-build.js';

/**
 * Which build a router and a request belong to. Weak maps: a swapped-out router and a finished request
 * are collected with their builds. Keys are the objects each framework hands around unchanged: the router
 * or plugin `rebuildRoutes` returned, and the request (Express `req`, Koa `ctx`/`ctx.req`, Fastify's raw
 * `IncomingMessage`, Hono's `Request`).
 */
const byRouter = new WeakMap<object, ApphookBuild>();
const byRequest = new WeakMap<object, ApphookBuild>();

/** Marks `router` (what `rebuildRoutes` returns) as made from `build`. */
export function tagRouter<T extends object>(router: T, build: ApphookBuild): T {
  byRouter.set(router, build);
  return router;
}

/** Pins a request to the build that routes it. */
export function tagRequest(request: object, build: ApphookBuild): void {
  byRequest.set(request, build);
}

function isBuild(value: unknown): value is ApphookBuild {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApphookBuild).reverse === 'function' &&
    typeof (value as ApphookBuild).match === 'function' &&
    Array.isArray((value as ApphookBuild).routes)
  );
}

/** The build behind what a binding serves: the build itself (job workers), a tagged router, or Fastify's build. */
export function buildOf(value: unknown): ApphookBuild | undefined {
  if (isBuild(value)) return value;
  if (typeof value !== 'object' && typeof value !== 'function') return undefined;
  if (value === null) return undefined;
  const direct = byRouter.get(value);
  if (direct) return direct;
  // FastifyBuild: the plugin rebuildRoutes returned is on `.plugin`.
  const plugin = (value as { plugin?: unknown }).plugin;
  return typeof plugin === 'function' ? byRouter.get(plugin) : undefined;
}

/** The build a request was pinned to, looking through the wrappers frameworks put around it. */
export function requestBuild(request: unknown): ApphookBuild | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const candidates = [
    request,
    (request as { raw?: unknown }).raw, // Fastify request -> IncomingMessage
    (request as { req?: { raw?: unknown } }).req?.raw, // Hono context -> Request
    (request as { req?: unknown }).req, // Koa ctx -> IncomingMessage
  ];
  for (const candidate of candidates) {
    if (typeof candidate === 'object' && candidate !== null) {
      const build = byRequest.get(candidate);
      if (build) return build;
    }
  }
  return undefined;
}
