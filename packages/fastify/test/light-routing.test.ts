import { ApphookOptionError } from '@apphook/core';
import { fastifyBinding } from '@apphook/fastify';
import Fastify, { type RouteHandlerMethod } from 'fastify';
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

  it('answers a route without hooks or schema (called directly) exactly as the same route with a hook', async () => {
    const handlers: Record<string, RouteHandlerMethod> = {
      async: async () => ({ kind: 'async' }),
      sync: () => 'sync',
      asyncThrow: async () => {
        throw Object.assign(new Error('async boom'), { statusCode: 418 });
      },
      syncThrow: () => {
        throw Object.assign(new Error('sync boom'), { statusCode: 409 });
      },
      sends: async (_request, reply) => reply.code(201).send('sent'),
      later: (_request, reply) => {
        setTimeout(() => reply.send('later'), 5);
      },
      'params/:id': async (request) => ({
        params: request.params,
        plain: Object.getPrototypeOf(request.params) === Object.prototype,
      }),
      static: async (request) => ({
        params: request.params,
        plain: Object.getPrototypeOf(request.params) === Object.prototype,
      }),
    };
    const binding = fastifyBinding({
      routing: 'light',
      rebuildRoutes: () => async (dynamic) => {
        for (const [name, handler] of Object.entries(handlers)) {
          dynamic.get(`/direct/${name}`, handler);
          dynamic.get(`/hooked/${name}`, { onRequest: async () => {} }, handler);
        }
      },
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.setErrorHandler((error, _request, reply) => {
      reply
        .code((error as { statusCode?: number }).statusCode ?? 500)
        .send({ handled: (error as Error).message });
    });
    app.register(binding.plugin);
    const base = await listen(app);
    const { reloader } = harness(binding, cleanups);
    await reloader.start();
    for (const name of Object.keys(handlers)) {
      const path = name.replace(':id', '42');
      const direct = await call(base, `/direct/${path}`);
      const hooked = await call(base, `/hooked/${path}`);
      expect({ name, status: direct.status, body: direct.body }).toEqual({
        name,
        status: hooked.status,
        body: hooked.body,
      });
    }
    expect(JSON.parse((await call(base, '/direct/params/42')).body)).toEqual({
      params: { id: '42' },
      plain: true,
    });
    expect(JSON.parse((await call(base, '/direct/static')).body)).toEqual({ params: {}, plain: true });
    expect((await call(base, '/direct/asyncThrow')).status).toBe(418);
    expect((await call(base, '/direct/syncThrow')).status).toBe(409);
  });

  it('calls a route without hooks or schema directly: a synchronous result is sent before the next microtask', async () => {
    // The shortcut is what keeps light routing within 2 % of a bare Fastify request; without it (every route
    // through the async hook runner) the result would be sent one `await` later and this test fails.
    const seen: Record<string, boolean> = {};
    const observe = (name: string) => (_request: unknown, reply: { sent: boolean }) => {
      queueMicrotask(() => {
        seen[name] = reply.sent;
      });
      return name;
    };
    const binding = fastifyBinding({
      routing: 'light',
      rebuildRoutes: () => async (dynamic) => {
        dynamic.get('/direct', observe('direct'));
        dynamic.get('/hooked', { preHandler: async () => {} }, observe('hooked'));
      },
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.register(binding.plugin);
    const base = await listen(app);
    const { reloader } = harness(binding, cleanups);
    await reloader.start();
    expect((await call(base, '/direct')).body).toBe('direct');
    expect((await call(base, '/hooked')).body).toBe('hooked');
    // Negative control: through the hook runner the result is sent after the handler's microtask.
    expect(seen).toEqual({ direct: true, hooked: false });
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
