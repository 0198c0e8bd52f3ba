import {
  ApphookOptionError,
  createBindingCore,
  type RebuildRoutes,
  resolveFirstBuildOptions,
} from '@apphook/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type {
  FastifyBinding,
  FastifyBindingOptions,
  FastifyBindingPluginOptions,
} from './fastify-binding.js';
import type { FastifyBuild } from './fastify-build.js';
import { LightTable } from './light-table.js';
import { pluginOf } from './plugin-check.js';
import { acquiringHandler, replyNotReady, routeWildcard } from './wildcard.js';

const NAME = 'apphook/fastify';

/**
 * `fastifyBinding({ routing: 'light' })`: each build is a route table (light-table.ts) served by the app's wildcard
 * route with the app's request and reply; a swap replaces one reference (G6). `current.instance` is the app.
 */
export function lightFastifyBinding(options: FastifyBindingOptions): FastifyBinding {
  const { firstBuildWaitMs, retryAfter } = resolveFirstBuildOptions(NAME, options);
  let app: FastifyInstance | undefined;
  let prefix: string | undefined;

  const core = createBindingCore<LightTable>({
    name: NAME,
    rebuildRoutes: options.rebuildRoutes as unknown as RebuildRoutes<LightTable>,
    async prepare(built, context) {
      return LightTable.build(pluginOf(built, context.version));
    },
  });

  const dispatch = (table: LightTable | undefined, request: FastifyRequest, reply: FastifyReply): void => {
    if (table === undefined) {
      replyNotReady(reply, retryAfter);
      return;
    }
    const url = request.url;
    const query = url.indexOf('?');
    const path = (query < 0 ? url : url.slice(0, query)).slice(prefix?.length ?? 0) || '/';
    if (!table.serve(request, reply, path)) reply.callNotFound();
  };

  const handler = acquiringHandler(() => core.acquire(firstBuildWaitMs), dispatch);

  const plugin: FastifyPluginAsync<FastifyBindingPluginOptions> = async (instance) => {
    if (prefix !== undefined) {
      throw new ApphookOptionError(
        `[${NAME}] binding.plugin is already registered (prefix '${prefix}'); a binding serves one mount point: create one binding and reloader per mount`,
      );
    }
    app = instance;
    prefix = instance.prefix;
    // The app parses bodies (its content-type parsers) before a dynamic route sees them.
    routeWildcard(instance, handler);
  };

  const view = (table: LightTable | undefined): FastifyBuild | undefined =>
    table && { instance: app as FastifyInstance, prefix: prefix ?? '', plugin: table.plugin };

  return {
    rebuild: (context) => core.binding.rebuild(context) as never,
    swap: (routes, info) => core.binding.swap(routes as unknown as LightTable, info),
    attach: (link) => core.binding.attach?.(link),
    detach: (link) => core.binding.detach?.(link),
    plugin,
    get current() {
      return view(core.current);
    },
    get version() {
      return core.version;
    },
  };
}
