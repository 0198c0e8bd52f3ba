import { fastifyPlugin } from '@apphook/apphooks/fastify';
import { fastifyBinding } from '@apphook/fastify';
import { OUTER_HEADER, runBindingSuite } from '@apphook/test-suite/binding';
import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
import Fastify from 'fastify';

for (const routing of ['instance', 'light'] as const) {
  runBindingSuite({
    name: routing === 'instance' ? 'fastify' : "fastify, routing: 'light'",
    async createApp({ rebuildTable, firstBuildWaitMs }) {
      const binding = fastifyBinding({
        routing,
        firstBuildWaitMs,
        rebuildRoutes: async (context) => {
          const table = await rebuildTable(context);
          return async (app) => {
            for (const [path, spec] of Object.entries(table)) {
              app.get(path, async (_request, reply) => {
                await spec.hold?.();
                return reply.type('text/plain').send(spec.body);
              });
            }
          };
        },
      });
      const app = Fastify();
      app.addHook('onRequest', async (_request, reply) => {
        reply.header(OUTER_HEADER, 'yes');
      });
      app.get('/static', async () => 'static');
      app.register(binding.plugin);
      // Fastify has no route order: a static route always beats the binding's wildcard. What an unmatched
      // dynamic path falls through to is the app's not-found handler, so `/after` is served from there.
      app.setNotFoundHandler((request, reply) => {
        if (request.method === 'GET' && request.url === '/after') return reply.send('after');
        return reply
          .code(404)
          .send({ statusCode: 404, error: 'Not Found', message: `${request.url} not found` });
      });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      return { url, binding, close: () => app.close() };
    },
  });
}

runApphookSuite({
  name: 'fastify',
  async createApp({ rebuildBuild, firstBuildWaitMs }) {
    const binding = fastifyBinding({
      firstBuildWaitMs,
      rebuildRoutes: async (context) => fastifyPlugin(await rebuildBuild(context)),
    });
    const app = Fastify();
    app.get('/static', async () => 'static');
    app.register(binding.plugin);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    return { url, binding, close: () => app.close() };
  },
});
