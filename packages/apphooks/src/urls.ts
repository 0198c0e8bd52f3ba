import { ApphookError, type Binding } from '@apphook/core';
import type { ApphookBuild } from './apphook-build.js';
import { buildOf, requestBuild, tagRequest } from './build-registry.js';
import type { HasRoutes, Reverser, UrlArgsFor, UrlName } from './url-types.js';

/** What `urlsOf` reads: any binding (`expressBinding`, `fastifyBinding`, ..., `callbackBinding`). */
export interface ServedBinding {
  readonly current: unknown;
}

/** Reverse URLs that follow what a binding serves. */
export interface Urls<Apps extends readonly HasRoutes[] = readonly HasRoutes[]> {
  /**
   * The build served now. Take it once per unit of work (a request on a static route, a job) and reverse
   * from it, so every link of that unit comes from one version. Throws `E_STATE` before the first build.
   */
  current(): ApphookBuild<Apps>;
  /**
   * The build that routed `request` (Express `req`, Fastify `request`, Koa `ctx`, Hono `c`): a request in
   * flight across a swap keeps its version. A request the rebuilt router never saw (a static route) is
   * pinned to the current build on the first call, so later calls in it agree.
   */
  forRequest(request: object): ApphookBuild<Apps>;
  /** `current().url(...)`: for one-off links. */
  url<N extends UrlName<Apps>>(name: N, ...args: UrlArgsFor<Apps, N>): string;
  /** The version served now, `undefined` before the first build. */
  readonly version: number | undefined;
}

/**
 * Reverse URLs from the build a binding serves, swapped with its router (G6) and labelled with its version
 * (G4). In a job worker pass the `callbackBinding` (its `current` is the build itself).
 */
export function urlsOf<Apps extends readonly HasRoutes[] = readonly HasRoutes[]>(
  binding: ServedBinding | Binding<unknown>,
): Urls<Apps> {
  // Every binding package exposes `current` (ExposedBinding); the `Binding` contract type does not say so.
  const served = () => (binding as Partial<ServedBinding>).current;
  const current = (): ApphookBuild<Apps> => {
    const now = served();
    if (now === undefined) {
      throw new ApphookError(
        'E_STATE',
        '[apphook/apphooks] no build serves yet: reverse URLs once reloader.start() has resolved',
      );
    }
    const build = buildOf(now);
    if (!build) {
      throw new ApphookError(
        'E_STATE',
        '[apphook/apphooks] the binding serves routes that were not made from an apphooks build: return expressRouter(build), fastifyPlugin(build), koaRouter(build), honoApp(build) or the build itself from rebuildRoutes',
      );
    }
    return build as ApphookBuild<Apps>;
  };
  return {
    current,
    forRequest(request) {
      const pinned = requestBuild(request);
      if (pinned) return pinned as ApphookBuild<Apps>;
      const build = current();
      tagRequest(request, build);
      return build;
    },
    url(name, ...args) {
      return (current() as Reverser<Apps>).url(name, ...args);
    },
    get version() {
      const now = served();
      return now === undefined ? undefined : buildOf(now)?.version;
    },
  };
}
