import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { fastifyBinding } from '@apphook/fastify';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ConstraintStrategy, Handler, HTTPVersion } from 'find-my-way';
import { afterEach, describe, expect, it } from 'vitest';
import { call, deferred, harness, listen, routes } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function app(options?: FastifyServerOptions): FastifyInstance {
  const instance = Fastify(options);
  cleanups.push(() => instance.close());
  return instance;
}

describe('each build is a fresh Fastify instance', () => {
  it('keeps per-route hooks, schemas, body parsing and the error handler of the dynamic routes', async () => {
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        dynamic.setErrorHandler((error, _request, reply) => {
          reply.code(418).send({ handledBy: 'dynamic error handler', message: (error as Error).message });
        });
        dynamic.post(
          '/greet',
          {
            schema: {
              body: {
                type: 'object',
                required: ['name'],
                properties: { name: { type: 'string' } },
              },
              response: { 200: { type: 'object', properties: { greeting: { type: 'string' } } } },
            },
            preHandler: async (_request, reply) => {
              reply.header('x-route-hook', 'ran');
            },
          },
          async (request) => {
            const { name } = request.body as { name: string };
            // `secret` is not in the response schema: the serializer drops it.
            return { greeting: `hello ${name}`, secret: 'dropped' };
          },
        );
        dynamic.get('/boom', async () => {
          throw new Error('dynamic failure');
        });
      },
    });
    const server = app();
    server.register(binding.plugin);
    const base = await listen(server);
    await harness(binding, cleanups).reloader.start();

    const ok = await call(base, '/greet', { json: { name: 'ada' } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ greeting: 'hello ada' });
    expect(ok.headers.get('x-route-hook')).toBe('ran');

    const invalid = await call(base, '/greet', { json: { nom: 'ada' } });
    expect(invalid.status).toBe(418);
    expect(JSON.parse(invalid.body)).toMatchObject({ handledBy: 'dynamic error handler' });
    expect(JSON.parse(invalid.body).message).toContain("must have required property 'name'");

    const boom = await call(base, '/boom');
    expect(boom.status).toBe(418);
    expect(JSON.parse(boom.body)).toEqual({ handledBy: 'dynamic error handler', message: 'dynamic failure' });
  });

  it('leaves the app its own routes, content parsers, hooks and not-found handler', async () => {
    const binding = fastifyBinding({
      rebuildRoutes: () => routes({ '/page': 'dynamic page', '/taken': 'dynamic taken' }),
    });
    const server = app();
    const responses: string[] = [];
    server.addHook('onRequest', async (_request, reply) => {
      reply.header('x-app-hook', 'set by the app');
    });
    server.addHook('preHandler', async (_request, reply) => {
      reply.header('x-app-pre-handler', 'ran');
    });
    server.addHook('onResponse', async (request, reply) => {
      responses.push(`${request.url} ${reply.statusCode}`);
    });
    server.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => {
      done(null, String(body).split(','));
    });
    server.post('/csv', async (request) => request.body);
    server.get('/taken', async () => 'static taken');
    server.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ notFound: request.url, by: 'the app' });
    });
    server.register(binding.plugin);
    const base = await listen(server);
    await harness(binding, cleanups).reloader.start();

    const page = await call(base, '/page');
    expect(page).toMatchObject({ status: 200, body: 'dynamic page' });
    // Headers the app's hooks set reach dynamic responses too.
    expect(page.headers.get('x-app-hook')).toBe('set by the app');
    expect(page.headers.get('x-app-pre-handler')).toBe('ran');
    // A static route of the app always beats a dynamic route on the same path.
    expect(await call(base, '/taken')).toMatchObject({ status: 200, body: 'static taken' });
    const csv = await call(base, '/csv', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b',
    });
    expect(csv).toMatchObject({ status: 200, body: '["a","b"]' });
    const missing = await call(base, '/nowhere');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ notFound: '/nowhere', by: 'the app' });
    expect(missing.headers.get('x-app-hook')).toBe('set by the app');
    // The app's onResponse hook sees dynamic requests as well.
    expect(responses).toEqual(['/page 200', '/taken 200', '/csv 200', '/nowhere 404']);
  });

  it('leaves a method the app already routes on a wildcard (a CORS preflight) to the app', async () => {
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        dynamic.get('/page', async () => 'page');
        dynamic.options('/page', async () => 'dynamic options');
      },
    });
    const server = app();
    server.options('*', async (_request, reply) => reply.code(204).header('x-preflight', 'app').send());
    server.register(binding.plugin);
    const base = await listen(server);
    await harness(binding, cleanups).reloader.start();

    expect(await call(base, '/page')).toMatchObject({ status: 200, body: 'page' });
    const preflight = await call(base, '/page', { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('x-preflight')).toBe('app');
  });

  it('gives dynamic routes the request id and logger of the app, and logs each request once', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    let ids = 0;
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        dynamic.get('/who', async (request) => {
          request.log.info('inside a dynamic route');
          return { id: request.id };
        });
      },
    });
    const server = app({ logger: { level: 'info', stream }, genReqId: () => `app-${++ids}` });
    server.register(binding.plugin);
    const base = await listen(server);
    await harness(binding, cleanups).reloader.start();

    const who = await call(base, '/who');
    expect(JSON.parse(who.body)).toEqual({ id: 'app-1' });
    const fromRoute = lines.find((line) => line.msg === 'inside a dynamic route');
    expect(fromRoute?.reqId).toBe('app-1');
    expect(lines.filter((line) => line.msg === 'incoming request')).toHaveLength(1);
    await expect.poll(() => lines.filter((line) => line.msg === 'request completed').length).toBe(1);
  });

  it('gives the app request id to a route matched through an async constraint, and answers its misses with 404', async () => {
    // An async strategy decides after the hand-over returned: the request's id and logger come from the ticket
    // the hand-over keeps for it (the usual, synchronous case needs none).
    const tenant = {
      name: 'tenant',
      mustMatchWhenDerived: true,
      storage() {
        const byTenant = new Map<string, Handler<HTTPVersion.V1>>();
        return {
          get: (value: string) => byTenant.get(value) ?? null,
          set: (value: string, store: Handler<HTTPVersion.V1>) => {
            byTenant.set(value, store);
          },
        };
      },
      deriveConstraint(req: IncomingMessage, _ctx: unknown, done: (error: null, value: string) => void) {
        setImmediate(() => done(null, String(req.headers['x-tenant'])));
      },
      validate() {},
    };
    let ids = 0;
    const binding = fastifyBinding({
      // find-my-way's types only describe synchronous strategies.
      instanceOptions: {
        routerOptions: {
          constraints: { tenant: tenant as unknown as ConstraintStrategy<HTTPVersion.V1, string> },
        },
      },
      rebuildRoutes: () => async (dynamic) => {
        dynamic.get('/who', { constraints: { tenant: 'a' } }, async (request) => ({ id: request.id }));
      },
    });
    const server = app({ genReqId: () => `app-${++ids}` });
    server.register(binding.plugin);
    const base = await listen(server);
    await harness(binding, cleanups).reloader.start();

    const matched = await call(base, '/who', { headers: { 'x-tenant': 'a' } });
    expect(matched.status).toBe(200);
    expect(JSON.parse(matched.body)).toEqual({ id: 'app-1' });
    const missed = await call(base, '/who', { headers: { 'x-tenant': 'b' } });
    expect(missed.status).toBe(404);
    expect(JSON.parse(missed.body)).toMatchObject({ message: 'Route GET:/who not found', statusCode: 404 });
  });

  it('registers the dynamic routes under the mount prefix, even when the first build ran before mounting', async () => {
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        dynamic.get('/', async () => 'pages index');
        dynamic.get('/about', async (request) => ({ url: request.url, route: request.routeOptions.url }));
      },
    });
    const { reloader } = harness(binding, cleanups);
    // The usual order: start the reloader, then listen; Fastify loads plugins only at listen.
    await reloader.start();
    expect(binding.current?.prefix).toBe('');
    const server = app();
    server.get('/about', async () => 'static about');
    server.register(binding.plugin, { prefix: '/pages' });
    const base = await listen(server);
    expect(binding.current?.prefix).toBe('/pages');

    expect(JSON.parse((await call(base, '/pages/about')).body)).toEqual({
      url: '/pages/about',
      route: '/pages/about',
    });
    expect(await call(base, '/pages')).toMatchObject({ status: 200, body: 'pages index' });
    expect(await call(base, '/pages/')).toMatchObject({ status: 200, body: 'pages index' });
    expect(await call(base, '/about')).toMatchObject({ status: 200, body: 'static about' });
    expect((await call(base, '/pages/missing')).status).toBe(404);
    expect((await call(base, '/elsewhere')).status).toBe(404);
  });

  it('serves under the prefix a build that was still running when the app mounted the plugin', async () => {
    const registering = deferred();
    const proceed = deferred();
    let runs = 0;
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        if (++runs === 1) {
          registering.resolve();
          await proceed.promise;
        }
        dynamic.get('/late', async () => 'late page');
      },
    });
    const starting = harness(binding, cleanups).reloader.start();
    await registering.promise;
    const server = app();
    server.register(binding.plugin, { prefix: '/pages' });
    const base = await listen(server);
    proceed.resolve();
    await starting;
    expect(binding.current?.prefix).toBe('/pages');
    expect(await call(base, '/pages/late')).toMatchObject({ status: 200, body: 'late page' });
    expect(runs).toBe(2);
  });

  it('answers HEAD for dynamic GET routes and applies instanceOptions to the fresh instance', async () => {
    const binding = fastifyBinding({
      instanceOptions: { routerOptions: { ignoreTrailingSlash: true } },
      rebuildRoutes: () => routes({ '/doc': 'document' }),
    });
    const server = app({ routerOptions: { ignoreTrailingSlash: true } });
    server.register(binding.plugin);
    const base = await listen(server);
    await harness(binding, cleanups).reloader.start();

    expect(await call(base, '/doc/')).toMatchObject({ status: 200, body: 'document' });
    const head = await call(base, '/doc', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await call(base, '/doc', { method: 'DELETE' })).status).toBe(404);
  });
});
