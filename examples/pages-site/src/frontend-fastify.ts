import type { AddressInfo } from 'node:net';
import { fastifyBinding } from '@apphook/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildHeaders, type Frontend, renderPage, type SiteApi } from './frontend.js';
import { attachedPaths, fastifyApphooks, linksOf, tagPlugin } from './frontend-apphooks.js';
import type { PageChange } from './writer.js';

/** The site on Fastify 5: static routes on the app, dynamic pages on a fresh instance per build. */
export function fastifyFrontend(api: SiteApi): Frontend {
  const binding = fastifyBinding({
    rebuildRoutes: async ({ version }) => {
      const snapshot = await api.snapshot(version);
      const { pages, info } = snapshot;
      const attached = attachedPaths(snapshot);
      return tagPlugin(async (instance: FastifyInstance) => {
        for (const page of pages.filter((p) => !attached.has(p.path))) {
          instance.get(page.path, async (_request, reply) =>
            reply
              .headers(buildHeaders(info))
              .type('text/html')
              .send(renderPage(page, info, api.name, pages)),
          );
        }
        await fastifyApphooks(instance, snapshot);
      }, snapshot);
    },
  });
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('X-Worker', api.name);
  });
  app.get('/__status', async () => api.status());
  app.get('/__pages', async () => api.pages());
  app.get('/__workers', async () => api.workers());
  app.post('/__admin/change', async (request, reply) => {
    try {
      return await api.change(request.body as PageChange);
    } catch (error) {
      return reply.code(400).send({ error: error instanceof Error ? error.message : String(error) });
    }
  });
  app.get(
    '/__links',
    async (request, reply) => linksOf(binding, request) ?? reply.code(404).send('not found'),
  );
  app.get('/admin', async (_request, reply) => reply.type('text/html').send(api.adminHtml()));
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).type('text/plain').send('not found'));
  void app.register(binding.plugin);
  return {
    binding,
    async listen(port, host) {
      await app.listen({ port, host });
      return {
        port: (app.server.address() as AddressInfo).port,
        close: () => app.close(),
      };
    },
  };
}
