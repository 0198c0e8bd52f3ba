/** `@apphook/apphooks/hono`: an apphooks build as a fresh Hono app for `honoBinding`. */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { appRequest, searchOf, toReply } from './app-request.js';
import type { ApphookBuild } from './apphook-build.js';
import { tagRequest, tagRouter } from './build-registry.js';

/** `rebuildRoutes: async (ctx) => honoApp(apphooks.build(await loadPages(ctx), ctx))`. */
export function honoApp(build: ApphookBuild): Hono {
  const app = new Hono();
  for (const route of build.routes) {
    app.get(route.path, async (c) => {
      // The binding hands the outer request's Request object to this app unchanged.
      tagRequest(c.req.raw, build);
      const reply = toReply(
        await route.handler(appRequest(route, build, c.req.param(), searchOf(c.req.url), c)),
      );
      return c.body(reply.body, reply.status as ContentfulStatusCode, {
        ...reply.headers,
        'content-type': reply.type,
      });
    });
  }
  return tagRouter(app, build);
}
