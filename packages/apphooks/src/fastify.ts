/**
 * `@apphook/apphooks/fastify`: an apphooks build as the plugin `fastifyBinding` registers on its fresh
 * instance per build (NestJS on platform-fastify takes the same plugin).
 */
import type { FastifyInstance } from 'fastify';
import { appRequest, searchOf, toReply } from './app-request.js';
import type { ApphookBuild } from './apphook-build.js';
import { tagRequest, tagRouter } from './build-registry.js';

/** A Fastify plugin, the shape `fastifyBinding`'s `rebuildRoutes` returns. */
export type ApphooksPlugin = (instance: FastifyInstance) => Promise<void>;

/** `rebuildRoutes: async (ctx) => fastifyPlugin(apphooks.build(await loadPages(ctx), ctx))`. */
export function fastifyPlugin(build: ApphookBuild): ApphooksPlugin {
  const plugin: ApphooksPlugin = async (instance) => {
    for (const route of build.routes) {
      instance.get(route.path, async (request, reply) => {
        tagRequest(request.raw, build);
        const answer = toReply(
          await route.handler(
            appRequest(
              route,
              build,
              request.params as Record<string, string>,
              searchOf(request.url),
              request,
            ),
          ),
        );
        return reply.code(answer.status).headers(answer.headers).type(answer.type).send(answer.body);
      });
    }
  };
  return tagRouter(plugin, build);
}
