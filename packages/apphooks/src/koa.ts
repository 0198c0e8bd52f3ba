/** `@apphook/apphooks/koa`: an apphooks build as a fresh `@koa/router` Router for `koaBinding`. */
import { Router } from '@koa/router';
import { appRequest, toReply } from './app-request.js';
import type { ApphookBuild } from './apphook-build.js';
import { tagRequest, tagRouter } from './build-registry.js';

/** `rebuildRoutes: async (ctx) => koaRouter(apphooks.build(await loadPages(ctx), ctx))`. */
export function koaRouter(build: ApphookBuild): Router {
  const router = new Router();
  for (const route of build.routes) {
    router.get(route.path, async (ctx) => {
      tagRequest(ctx, build);
      tagRequest(ctx.req, build);
      const reply = toReply(
        await route.handler(
          appRequest(route, build, ctx.params as Record<string, string>, ctx.querystring, ctx),
        ),
      );
      ctx.status = reply.status;
      ctx.set(reply.headers);
      ctx.type = reply.type;
      ctx.body = reply.body;
    });
  }
  return tagRouter(router, build);
}
