import { ApphookOptionError } from '@apphook/core';
import { fastifyBinding } from '@apphook/fastify';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, harness, listen } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("routing: 'light' (a route table served by the app's request and reply)", () => {
  it('keeps per-route hooks, schemas (validation, coercion, response serialization) and params', async () => {
    let generation = 1;
    const binding = fastifyBinding({
      routing: 'light',
      rebuildRoutes: () => {
        const g = generation;
        return async (dynamic) => {
          dynamic.post(
            '/greet/:id',
            {
              schema: {
                params: { type: 'object', properties: { id: { type: 'integer' } } },
                querystring: { type: 'object', properties: { n: { type: 'integer' } } },
                body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
                response: {
                  200: {
                    type: 'object',
                    properties: {
                      greeting: { type: 'string' },
                      id: { type: 'integer' },
                      n: { type: 'integer' },
                    },
                  },
                },
              },
              onRequest: async (_request, reply) => {
                reply.header('x-on-request', 'ran');
              },
              preHandler: (_request, reply, done) => {
                reply.header('x-pre-handler', 'ran');
                done();
              },
            },
            async (request) => {
              const { name } = request.body as { name: string };
              const { id } = request.params as { id: number };
              const { n } = request.query as { n: number };
              return { greeting: `hello ${name} (build ${g})`, id, n, secret: 'dropped' };
            },
          );
          dynamic.get('/gen', async () => `build ${g}`);
        };
      },
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-app-hook', 'ran');
    });
    app.setErrorHandler((error, _request, reply) => {
      reply
        .code((error as { statusCode?: number }).statusCode ?? 500)
        .send({ handledBy: 'app', message: (error as Error).message });
    });
    app.register(binding.plugin, { prefix: '/pages' });
    const base = await listen(app);
    const { reloader, change } = harness(binding, cleanups);
    await reloader.start();

    const ok = await call(base, '/pages/greet/7?n=3', { json: { name: 'ada' } });
    expect(ok.status).toBe(200);
    // Coerced from the path and query strings; `secret` is not in the response schema, so it is dropped.
    expect(JSON.parse(ok.body)).toEqual({ greeting: 'hello ada (build 1)', id: 7, n: 3 });
    expect(ok.headers.get('x-on-request')).toBe('ran');
    expect(ok.headers.get('x-pre-handler')).toBe('ran');
    expect(ok.headers.get('x-app-hook')).toBe('ran');

    const invalid = await call(base, '/pages/greet/7', { json: { nom: 'ada' } });
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body)).toMatchObject({ handledBy: 'app' });
    expect(JSON.parse(invalid.body).message).toContain("must have required property 'name'");
    expect((await call(base, '/pages/greet/seven', { json: { name: 'ada' } })).status).toBe(400);

    expect((await call(base, '/pages/missing')).status).toBe(404);
    generation = 2;
    await change();
    expect((await call(base, '/pages/gen')).body).toBe('build 2');
  });

  it('fails a build whose plugin uses what only an instance has, and keeps the last good routes (G5)', async () => {
    let broken = false;
    const binding = fastifyBinding({
      routing: 'light',
      rebuildRoutes: () => async (dynamic) => {
        if (broken) dynamic.decorate('x', 1);
        dynamic.get('/page', async () => 'good');
      },
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.register(binding.plugin);
    const base = await listen(app);
    const { reloader, change } = harness(binding, cleanups);
    const errors: string[] = [];
    reloader.on('error', (e) => errors.push(e.error.message));
    await reloader.start();
    broken = true;
    await change();
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(errors[0]).toContain("routing: 'light'");
    expect((await call(base, '/page')).body).toBe('good');
  });

  it('rejects an unknown routing value with a typed error', () => {
    expect(() => fastifyBinding({ routing: 'fast' as never, rebuildRoutes: () => async () => {} })).toThrow(
      ApphookOptionError,
    );
  });
});
