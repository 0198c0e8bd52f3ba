import { fastifyBinding } from '@apphook/fastify';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, harness, listen } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Builds batch Fastify's per-route `preReady` work (batched-boot.ts); these tests prove that work still runs
// for every route, in order: hooks, schemas, the not-found handler and decorations are all set up there.
describe('a build of many routes', () => {
  it('sets up every route: its hooks, schema, serializer and the plugin not-found handler', async () => {
    const size = 100;
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        dynamic.decorateRequest('page', 0);
        dynamic.addHook('onRequest', async (_request, reply) => {
          reply.header('x-plugin-hook', 'ran');
        });
        for (let i = 0; i < size; i++) {
          dynamic.post(
            `/page-${i}`,
            {
              schema: {
                body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
                response: { 200: { type: 'object', properties: { page: { type: 'integer' } } } },
              },
              preHandler: async (request, reply) => {
                (request as unknown as { page: number }).page = i;
                reply.header('x-route-hook', String(i));
              },
            },
            async (request) => ({ page: (request as unknown as { page: number }).page, dropped: true }),
          );
        }
        dynamic.setNotFoundHandler((_request, reply) => {
          reply.code(404).send('dynamic 404');
        });
      },
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.register(binding.plugin);
    const base = await listen(app);
    const { reloader, change } = harness(binding, cleanups);
    await reloader.start();
    await change(); // a second build: the batching is per instance, not once per process

    for (const i of [0, 1, size / 2, size - 1]) {
      const ok = await call(base, `/page-${i}`, { json: { n: 1 } });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toEqual({ page: i });
      expect(ok.headers.get('x-route-hook')).toBe(String(i));
      expect(ok.headers.get('x-plugin-hook')).toBe('ran');
      const invalid = await call(base, `/page-${i}`, { json: { n: 'one' } });
      expect(invalid.status).toBe(400);
      expect(invalid.body).toContain('must be integer');
    }
    const head = await call(base, `/page-${size - 1}`, { method: 'GET' });
    expect(head.status).toBe(404); // a POST-only route; GET falls to the app's 404
  });

  it("leaves the app's own instance untouched: its routes and hooks work as before", async () => {
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        dynamic.get('/dynamic', async () => 'dynamic');
      },
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    const seen: string[] = [];
    app.addHook('preHandler', async (request) => {
      seen.push(request.url);
    });
    for (let i = 0; i < 50; i++) app.get(`/static-${i}`, async () => `static ${i}`);
    app.register(binding.plugin);
    const base = await listen(app);
    await harness(binding, cleanups).reloader.start();

    expect((await call(base, '/static-49')).body).toBe('static 49');
    expect((await call(base, '/dynamic')).body).toBe('dynamic');
    expect(seen).toEqual(['/static-49', '/dynamic']);
  });
});
