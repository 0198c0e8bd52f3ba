import { expressRouter } from '@apphook/apphooks/express';
import { fastifyPlugin } from '@apphook/apphooks/fastify';
import type { Binding } from '@apphook/core';
import { expressBinding } from '@apphook/express';
import { fastifyBinding } from '@apphook/fastify';
import { ApphookModule } from '@apphook/nestjs';
import {
  type BindingSuiteApp,
  type BindingSuiteAppOptions,
  OUTER_HEADER,
  type RouteTable,
} from '@apphook/test-suite/binding';
import type { ApphookSuiteAppOptions } from '@apphook/test-suite/binding-apphooks';
import { type ArgumentsHost, Catch, Controller, Get, Module, NotFoundException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import express from 'express';
import { createNest, listenNest, type PlatformName } from './nest-app.js';

function expressRoutes(table: RouteTable) {
  const router = express.Router();
  for (const [path, spec] of Object.entries(table)) {
    router.get(path, async (_req, res) => {
      await spec.hold?.();
      res.type('text/plain').send(spec.body);
    });
  }
  return router;
}

function fastifyRoutes(table: RouteTable) {
  return async (app: import('fastify').FastifyInstance) => {
    for (const [path, spec] of Object.entries(table)) {
      app.get(path, async (_request, reply) => {
        await spec.hold?.();
        return reply.type('text/plain').send(spec.body);
      });
    }
  };
}

@Controller()
class StaticController {
  @Get('static')
  static(): string {
    return 'static';
  }
}

/**
 * Nest puts its not-found handler after the dynamic routes, and on Fastify a static route always beats the
 * binding's wildcard: what an unmatched dynamic path falls through to is Nest's 404, so `/after` is served
 * from a global filter of NotFoundException.
 */
@Catch(NotFoundException)
class AfterFilter extends BaseExceptionFilter {
  override catch(exception: NotFoundException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const adapter = this.applicationRef!;
    const request = http.getRequest();
    if (adapter.getRequestMethod?.(request) === 'GET' && adapter.getRequestUrl?.(request) === '/after') {
      adapter.reply(http.getResponse(), 'after', 200);
      return;
    }
    super.catch(exception, host);
  }
}

/** The app the binding suite expects, as a Nest application that mounts the binding with ApphookModule. */
export function nestSuiteApp(platform: PlatformName) {
  return async ({ rebuildTable, firstBuildWaitMs }: BindingSuiteAppOptions): Promise<BindingSuiteApp> => {
    const binding: Binding<unknown> =
      platform === 'express'
        ? expressBinding({
            firstBuildWaitMs,
            rebuildRoutes: async (context) => expressRoutes(await rebuildTable(context)),
          })
        : fastifyBinding({
            firstBuildWaitMs,
            rebuildRoutes: async (context) => fastifyRoutes(await rebuildTable(context)),
          });

    // The suite creates and starts the reloader itself: the module only mounts the binding.
    @Module({ imports: [ApphookModule.forRoot({ binding })], controllers: [StaticController] })
    class SuiteModule {}

    const app = await createNest(platform, SuiteModule);
    app.use((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
      res.setHeader(OUTER_HEADER, 'yes');
      next();
    });
    app.useGlobalFilters(new AfterFilter(app.getHttpAdapter()));
    const url = await listenNest(app);
    return { url, binding, close: () => app.close() };
  };
}

/** The app the apphooks part of the suite expects: the static controller, then the binding serving the build. */
export function nestApphookSuiteApp(platform: PlatformName) {
  return async ({ rebuildBuild, firstBuildWaitMs }: ApphookSuiteAppOptions): Promise<BindingSuiteApp> => {
    // One application description, the platform's glue: expressRouter(build) or fastifyPlugin(build).
    const binding: Binding<unknown> =
      platform === 'express'
        ? expressBinding({
            firstBuildWaitMs,
            rebuildRoutes: async (context) => expressRouter(await rebuildBuild(context)),
          })
        : fastifyBinding({
            firstBuildWaitMs,
            rebuildRoutes: async (context) => fastifyPlugin(await rebuildBuild(context)),
          });

    @Module({ imports: [ApphookModule.forRoot({ binding })], controllers: [StaticController] })
    class ApphookSuiteModule {}

    const app = await createNest(platform, ApphookSuiteModule);
    const url = await listenNest(app);
    return { url, binding, close: () => app.close() };
  };
}
