/**
 * A Fastify app whose page routes are rebuilt from a table whenever it changes, without a restart.
 *
 *   pnpm --filter @apphook/example-fastify start       # http://127.0.0.1:3000
 *   curl -X POST localhost:3000/admin/pages -H 'content-type: application/json' -d '{"slug":"pricing","title":"Pricing"}'
 *   curl localhost:3000/pages/pricing
 *   pnpm --filter @apphook/example-fastify check       # self-test: starts, changes pages, exits
 *
 * The table is a Map and the store is memoryStore() so the example runs anywhere; a real app keeps pages
 * in its database and passes postgresStore(orm) / mysqlStore(orm) / sqliteStore(orm) instead, writing the
 * rows and calling markChanged(em) in the same transaction.
 */
import { createReloader, memoryStore } from '@apphook/core';
import { fastifyBinding } from '@apphook/fastify';
import Fastify from 'fastify';

const pages = new Map<string, string>([
  ['about', 'About us'],
  ['contact', 'Contact'],
]);

const binding = fastifyBinding({
  // Each build returns a plugin; the binding registers it on a fresh Fastify instance under the mount prefix.
  rebuildRoutes: async ({ version }) => {
    const snapshot = [...pages];
    return async (app) => {
      // Per-route options, hooks and schemas work as in any plugin.
      app.addHook('onSend', async (_request, reply) => {
        reply.header('x-routes-version', String(version));
      });
      for (const [slug, title] of snapshot) {
        app.get(`/${slug}`, async (_request, reply) =>
          reply.type('text/html').send(`<h1>${title}</h1><p>routes version ${version}</p>`),
        );
      }
    };
  },
});

const store = memoryStore();
const reloader = createReloader({ store, binding, mode: 'push' });
reloader.on('reload', ({ from, to, durationMs }) =>
  console.log(`[example] routes v${from ?? '-'} -> v${to} in ${durationMs.toFixed(1)} ms`),
);
reloader.on('error', ({ error }) => console.error(`[example] ${error.message}`));

const app = Fastify();
// Hooks and static routes of the app: never touched by a swap.
app.addHook('onRequest', async (_request, reply) => {
  reply.header('x-powered-by', 'apphook example');
});
app.get('/health', async () => ({ ok: true, version: reloader.version }));
app.post<{ Body: { slug?: string; title?: string } }>('/admin/pages', async (request, reply) => {
  const { slug, title } = request.body ?? {};
  if (!slug || !/^[a-z0-9-]+$/.test(slug) || !title) {
    return reply.code(400).send({ error: 'send { "slug": "a-z0-9-", "title": "..." }' });
  }
  // Write the row and bump the version in one transaction; this process serves the new routes once it resolves.
  await store.transaction(async (tx) => {
    pages.set(slug, title);
    await reloader.markChanged(tx);
  });
  return reply.code(201).send({ slug, version: reloader.version });
});
app.delete<{ Params: { slug: string } }>('/admin/pages/:slug', async (request, reply) => {
  await store.transaction(async (tx) => {
    pages.delete(request.params.slug);
    await reloader.markChanged(tx);
  });
  return reply.code(204).send();
});
// The dynamic part, under /pages: an unmatched path there gets the app's own 404.
app.register(binding.plugin, { prefix: '/pages' });

const check = process.argv.includes('--check');
// Build first, then listen: no request ever waits for the first build.
await reloader.start();
const base = await app.listen({ host: '127.0.0.1', port: check ? 0 : Number(process.env.PORT ?? 3000) });
console.log(`[example] fastify listening on ${base}`);

if (check) {
  const expectStatus = async (path: string, status: number, init?: RequestInit) => {
    const response = await fetch(`${base}${path}`, init);
    console.log(`[example] ${init?.method ?? 'GET'} ${path} -> ${response.status}`);
    if (response.status !== status) throw new Error(`expected ${status} for ${path}, got ${response.status}`);
  };
  try {
    await expectStatus('/pages/about', 200);
    await expectStatus('/pages/pricing', 404);
    await expectStatus('/admin/pages', 201, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'pricing', title: 'Pricing' }),
    });
    await expectStatus('/pages/pricing', 200);
    await expectStatus('/admin/pages/about', 204, { method: 'DELETE' });
    await expectStatus('/pages/about', 404);
    await expectStatus('/health', 200);
    console.log('[example] check passed');
  } finally {
    await reloader.stop();
    await app.close();
  }
}
