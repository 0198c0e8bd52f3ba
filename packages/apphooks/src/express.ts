/**
 * `@apphook/apphooks/express`: an apphooks build as a fresh `express.Router()` for `expressBinding` (Express 4
 * and 5; NestJS on platform-express takes the same router).
 */
import express, { type Router } from 'express';
import { appRequest, searchOf, toReply } from './app-request.js';
import type { ApphookBuild } from './apphook-build.js';
import { tagRequest, tagRouter } from './build-registry.js';

export interface ExpressRouterOptions {
  /** The `express` module to make the router with (Express 4 or 5). @default the installed `express` */
  express?: { Router(): Router };
}

/** `rebuildRoutes: async (ctx) => expressRouter(apphooks.build(await loadPages(ctx), ctx))`. */
export function expressRouter(build: ApphookBuild, options: ExpressRouterOptions = {}): Router {
  const router = (options.express ?? express).Router();
  for (const route of build.routes) {
    router.get(route.path, async (req, res, next) => {
      tagRequest(req, build);
      try {
        const reply = toReply(
          await route.handler(
            appRequest(route, build, req.params as Record<string, string>, searchOf(req.originalUrl), req),
          ),
        );
        res.status(reply.status).set(reply.headers).type(reply.type).send(reply.body);
      } catch (error) {
        next(error);
      }
    });
  }
  return tagRouter(router, build);
}
