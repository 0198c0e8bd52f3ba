/**
 * Whether `handler` (an Express app, a Router or a route) routes requests to `target` through its layer stacks.
 * A `rebuildRoutes` that returns the outer app, which mounts the binding's own middleware, would send every
 * request around that loop until the stack overflows (a 500 `RangeError` on every request).
 */
export function reachesHandler(handler: unknown, target: unknown): boolean {
  return search(handler, target, new Set(), 0);
}

const MAX_DEPTH = 32;

function search(handler: unknown, target: unknown, seen: Set<unknown>, depth: number): boolean {
  if (handler === target) return true;
  if (depth > MAX_DEPTH || !handler || (typeof handler !== 'function' && typeof handler !== 'object'))
    return false;
  if (seen.has(handler)) return false;
  seen.add(handler);
  for (const layer of stackOf(handler)) {
    const { handle, route } = (layer ?? {}) as { handle?: unknown; route?: unknown };
    if (search(handle, target, seen, depth + 1) || search(route, target, seen, depth + 1)) return true;
  }
  return false;
}

function stackOf(handler: unknown): unknown[] {
  const h = handler as { stack?: unknown; _router?: { stack?: unknown }; router?: { stack?: unknown } };
  if (Array.isArray(h.stack)) return h.stack; // a Router or a Route
  if (Array.isArray(h._router?.stack)) return h._router.stack; // an Express 4 app
  // An Express 5 app (its router getter creates an empty router if there is none: harmless).
  if (typeof (handler as { handle?: unknown }).handle === 'function' && 'router' in (h as object)) {
    const stack = h.router?.stack;
    if (Array.isArray(stack)) return stack;
  }
  return [];
}
