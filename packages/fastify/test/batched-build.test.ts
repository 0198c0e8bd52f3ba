import http from 'node:http';
import { createRequire } from 'node:module';
import { type DynamicRoutesPlugin, fastifyBinding } from '@apphook/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, harness, listen } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// A build batches avvio's per-route work and shares find-my-way's compiled functions (batched-boot.ts,
// router-functions.ts). These tests compare a build with the same plugin on a plain Fastify instance: every
// answer must be the same, for the cases where the order of avvio's callbacks or a compiled function matters.

/** Routes declared around the things that read or change state at `after` and `preReady` time. */
const plugin: DynamicRoutesPlugin = async (app) => {
  const declared: string[] = [];
  app.addHook('onRoute', (route) => {
    declared.push(`${route.method} ${route.url}`);
  });
  app.get('/early', async () => {
    throw new Error('early failed');
  });
  app.get('/users/:id', async (request) => ({ params: request.params }));
  // Set after the routes above: Fastify still gives it to them (the route's `after` reads it).
  app.setErrorHandler(async (error: Error, _request, reply) => {
    reply.code(418);
    return { handledBy: 'outer', message: error.message };
  });
  // A hook added after routes applies to them too (read at `preReady`).
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-outer-hook', 'ran');
    return payload;
  });
  await app.register(async (child) => {
    child.setErrorHandler(async (error: Error, _request, reply) => {
      reply.code(409);
      return { handledBy: 'child', message: error.message };
    });
    child.addHook('preHandler', async (_request, reply) => {
      reply.header('x-child-hook', 'ran');
    });
    child.get('/child/fail', async () => {
      throw new Error('child failed');
    });
    child.get('/child/:a/:b-:c', async (request) => ({ params: request.params }));
  });
  app.get('/between', async () => {
    throw new Error('between failed');
  });
  await app.after();
  app.post(
    '/after-after',
    {
      bodyLimit: 10,
      schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } },
    },
    async (request) => request.body,
  );
  app.get('/versioned', { constraints: { version: '1.2.0' } }, async () => 'v1');
  app.get('/versioned', { constraints: { version: '2.0.0' } }, async () => 'v2');
  app.get('/hosted', { constraints: { host: 'a.example' } }, async () => 'host a');
  app.get('/hosted', async () => 'any host');
  app.get('/files/*', async (request) => ({ params: request.params }));
  app.get('/declared', async () => declared);
};

interface Probe {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

const probes: Probe[] = [
  { url: '/early' },
  { url: '/users/42' },
  { url: '/child/fail' },
  { url: '/child/x/y-z' },
  { url: '/between' },
  { method: 'POST', url: '/after-after', headers: { 'content-type': 'application/json' }, body: '{"n":1}' },
  { method: 'POST', url: '/after-after', headers: { 'content-type': 'application/json' }, body: '{"n":"x"}' },
  {
    method: 'POST',
    url: '/after-after',
    headers: { 'content-type': 'application/json' },
    body: '{"n":1000000}',
  },
  { url: '/versioned', headers: { 'accept-version': '1.x' } },
  { url: '/versioned', headers: { 'accept-version': '2.x' } },
  { url: '/versioned', headers: { 'accept-version': '3.x' } },
  { url: '/hosted', headers: { host: 'a.example' } },
  { url: '/hosted', headers: { host: 'b.example' } },
  { url: '/files/a/b.txt' },
  { method: 'HEAD', url: '/users/7' },
  { url: '/declared' },
];

const SHOWN = ['x-outer-hook', 'x-child-hook', 'content-type'];

/** Real HTTP with node:http, which (unlike fetch) sends the Host header it is given. */
function request(
  base: string,
  probe: Probe,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${probe.url}`,
      { method: probe.method ?? 'GET', headers: probe.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(probe.body);
  });
}

async function reference(): Promise<string[]> {
  const app: FastifyInstance = Fastify();
  cleanups.push(() => app.close());
  await app.register(plugin);
  const answers: string[] = [];
  for (const probe of probes) {
    const res = await app.inject({
      method: (probe.method ?? 'GET') as 'GET',
      url: probe.url,
      headers: probe.headers,
      payload: probe.body,
    });
    const shown = SHOWN.map((name) => `${name}=${res.headers[name] ?? ''}`).join(' ');
    answers.push(`${probe.method ?? 'GET'} ${probe.url} -> ${res.statusCode} ${shown} ${res.body}`);
  }
  return answers;
}

describe('a batched build', () => {
  it('answers exactly as the same plugin on a plain Fastify instance', async () => {
    const binding = fastifyBinding({
      rebuildRoutes: () => plugin,
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.register(binding.plugin);
    const base = await listen(app);
    const { reloader, change } = harness(binding, cleanups);
    await reloader.start();
    await change(); // a second build of the same process: nothing is patched once only

    const answers: string[] = [];
    for (const probe of probes) {
      const res = await request(base, probe);
      const shown = SHOWN.map((name) => `${name}=${res.headers[name] ?? ''}`).join(' ');
      answers.push(`${probe.method ?? 'GET'} ${probe.url} -> ${res.status} ${shown} ${res.body}`);
    }
    expect(answers).toEqual(await reference());
    // The comparison means something only if the cases differ from one another.
    expect(answers.join('\n')).toContain('"handledBy":"outer"');
    expect(answers.join('\n')).toContain('"handledBy":"child"');
    expect(answers.join('\n')).toContain('v2');
  });

  it("is active: a build's routes share avvio plugins, and find-my-way's compile steps are patched", async () => {
    const size = 200;
    const binding = fastifyBinding({
      rebuildRoutes: () => async (app) => {
        for (let i = 0; i < size; i++) app.get(`/page-${i}`, async () => `page ${i}`);
      },
    });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.register(binding.plugin);
    const base = await listen(app);
    await harness(binding, cleanups).reloader.start();
    expect((await call(base, `/page-${size - 1}`)).body).toBe(`page ${size - 1}`);

    // Without the batching, Fastify adds one avvio plugin per route and per HEAD twin (400 here).
    const tree = binding.current?.instance.printPlugins() ?? '';
    expect(tree.split('\n').length).toBeLessThan(20);
    const plain = Fastify();
    cleanups.push(() => plain.close());
    for (let i = 0; i < size; i++) plain.get(`/page-${i}`, async () => `page ${i}`);
    await plain.ready();
    expect(plain.printPlugins().split('\n').length).toBeGreaterThan(2 * size); // the negative control

    const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
    const storage = createRequire(fromFastify.resolve('find-my-way'))('./lib/handler-storage') as {
      prototype: { _compileCreateParamsObject: { apphook?: boolean } };
    };
    expect(storage.prototype._compileCreateParamsObject.apphook).toBe(true);
  });
});

describe('response serializers of a build', () => {
  const page = { type: 'object', properties: { title: { type: 'string' } } };
  const other = { type: 'object', properties: { n: { type: 'integer' } } };
  type Serializer = ((payload: unknown) => string) | undefined;

  /** Serves `/a`, `/b` (same schema object), `/c` (another) and `/ref` (a shared schema by `$ref`). */
  function serializerPlugin(seen: Map<string, Serializer>): DynamicRoutesPlugin {
    return async (app) => {
      for (const [path, schema] of [
        ['/a', page],
        ['/b', page],
        ['/c', other],
      ] as const) {
        app.get(path, { schema: { response: { 200: schema } } }, async (_request, reply) => {
          seen.set(path, reply.getSerializationFunction('200') as Serializer);
          return { title: path, n: 1, secret: 'dropped' };
        });
      }
      await app.register(async (child) => {
        child.addSchema({ $id: 'shared', type: 'object', properties: { title: { type: 'string' } } });
        child.get('/ref', { schema: { response: { 200: { $ref: 'shared#' } } } }, async () => ({
          title: 'ref',
          secret: 'dropped',
        }));
      });
    };
  }

  async function serve(instanceOptions?: object) {
    const seen = new Map<string, Serializer>();
    const binding = fastifyBinding({ rebuildRoutes: () => serializerPlugin(seen), instanceOptions });
    const app = Fastify();
    cleanups.push(() => app.close());
    app.register(binding.plugin);
    const base = await listen(app);
    await harness(binding, cleanups).reloader.start();
    const bodies: string[] = [];
    for (const path of ['/a', '/b', '/c', '/ref']) bodies.push((await call(base, path)).body);
    return { seen, bodies };
  }

  it('compiles a response schema shared by several routes once per build, and serializes every route by its schema', async () => {
    const { seen, bodies } = await serve();
    expect(bodies).toEqual(['{"title":"/a"}', '{"title":"/b"}', '{"n":1}', '{"title":"ref"}']);
    expect(seen.get('/a')).toBeTypeOf('function');
    expect(seen.get('/a')).toBe(seen.get('/b'));
    expect(seen.get('/c')).not.toBe(seen.get('/a'));
  });

  it('keeps a serializer builder given in instanceOptions: it is called for every route, as in Fastify', async () => {
    const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
    const { SerializerSelector } = fromFastify('@fastify/fast-json-stringify-compiler') as {
      SerializerSelector: () => (...args: unknown[]) => (route: unknown) => unknown;
    };
    let compiled = 0;
    const counting = (...args: unknown[]) => {
      const compile = SerializerSelector()(...args);
      return (route: unknown) => {
        compiled++;
        return compile(route);
      };
    };
    const { seen, bodies } = await serve({
      schemaController: { compilersFactory: { buildSerializer: counting } },
    });
    expect(bodies).toEqual(['{"title":"/a"}', '{"title":"/b"}', '{"n":1}', '{"title":"ref"}']);
    expect(seen.get('/a')).not.toBe(seen.get('/b')); // the negative control: no sharing without the binding's cache
    expect(compiled).toBeGreaterThanOrEqual(3);
  });
});
