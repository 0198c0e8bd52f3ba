import { createRequire } from 'node:module';

/**
 * find-my-way (Fastify's router) compiles two functions with `new Function` each time a route is added: one
 * that builds the params object and one that matches constraints (host, version). At 10,000 GET routes (20,000
 * with their HEAD twins) that is 40,000 compiled functions per build, a sixth of the build and much of its
 * garbage. While a route of this binding's instance is being declared (see `declaringRoutes`):
 *
 * - params builders are shared between routes with the same parameter names: the generated function depends on
 *   those names only (every static route has the same one);
 * - the constraint matcher of a route node is compiled on its first use instead of on every `addHandler`: it is
 *   generated from the node's handlers and the router's strategies as they are when it runs, which is what the
 *   last eager compile would have produced (find-my-way recompiles every route when a strategy is added). Without
 *   constraints in the router it is never used.
 *
 * Everything else (the app's own router, this package's light mode, routes added by other code) compiles as
 * before, and if find-my-way looks different, nothing is patched and builds are only slower.
 */

type Compiled = (...args: unknown[]) => unknown;
interface HandlerStorage {
  _compileCreateParamsObject(params: string[]): Compiled;
  _compileGetHandlerMatchingConstraints(constrainer: object): void;
  _getHandlerMatchingConstraints: Compiled;
}

let depth = 0;
let installAttempted = false;
const paramsBuilders = new Map<string, Compiled>();
/** One compile-on-first-use matcher per router (per constrainer), shared by its route nodes. */
const lazyMatchers = new WeakMap<object, Compiled>();

function install(): boolean {
  try {
    const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
    const fmwRequire = createRequire(requireFromFastify.resolve('find-my-way'));
    const Storage = fmwRequire('./lib/handler-storage') as { prototype: HandlerStorage };
    const proto = Storage.prototype;
    const compileParams = proto._compileCreateParamsObject;
    const compileMatcher = proto._compileGetHandlerMatchingConstraints;
    if (
      typeof compileParams !== 'function' ||
      typeof compileMatcher !== 'function' ||
      Object.hasOwn(compileParams, 'apphook')
    ) {
      return false;
    }
    const sharedParams = function _compileCreateParamsObject(this: HandlerStorage, params: string[]) {
      if (depth === 0 || !Array.isArray(params)) return compileParams.call(this, params);
      const key = params.length === 0 ? '' : JSON.stringify(params);
      let builder = paramsBuilders.get(key);
      if (!builder) {
        builder = compileParams.call(this, params);
        paramsBuilders.set(key, builder);
      }
      return builder;
    };
    // Marks the prototype as patched, so a second copy of this module leaves it alone.
    Object.defineProperty(sharedParams, 'apphook', { value: true });
    proto._compileCreateParamsObject = sharedParams;
    // Only the constrainer (the router's strategies) goes into the matcher: a matcher compiled later from it
    // is the one an eager compile would make.
    if (compileMatcher.length !== 1) return true;
    proto._compileGetHandlerMatchingConstraints = function _compileGetHandlerMatchingConstraints(
      this: HandlerStorage,
      constrainer: object,
    ) {
      if (depth === 0) {
        compileMatcher.call(this, constrainer);
        return;
      }
      let compileOnFirstUse = lazyMatchers.get(constrainer);
      if (!compileOnFirstUse) {
        compileOnFirstUse = function compileOnFirstUse(this: HandlerStorage, derived: unknown): unknown {
          compileMatcher.call(this, constrainer);
          return this._getHandlerMatchingConstraints(derived);
        };
        lazyMatchers.set(constrainer, compileOnFirstUse);
      }
      this._getHandlerMatchingConstraints = compileOnFirstUse;
    };
    return true;
  } catch {
    return false;
  }
}

/** Runs `declare` (one route declaration of a binding instance) with find-my-way's compiled functions shared. */
export function declaringRoutes<T>(declare: () => T): T {
  if (!installAttempted) {
    installAttempted = true;
    install(); // false: find-my-way looks different, routes compile as before
  }
  depth++;
  try {
    return declare();
  } finally {
    depth--;
  }
}
