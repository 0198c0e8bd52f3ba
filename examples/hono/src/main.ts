/**
 * A Hono app (on @hono/node-server) whose page routes are rebuilt from a table whenever it changes, without
 * a restart: a fresh Hono app per build behind one delegating middleware.
 *
 *   pnpm --filter @apphook/example-hono start       # http://127.0.0.1:3000
 *   curl -X POST localhost:3000/admin/pages -H 'content-type: application/json' -d '{"slug":"pricing","title":"Pricing"}'
 *   curl localhost:3000/pricing
 *   pnpm --filter @apphook/example-hono check       # self-test: starts, changes pages, exits
 *
 * The table is a Map and the store is memoryStore() so the example runs anywhere; a real app keeps pages
 * in its database and passes postgresStore(orm) / mysqlStore(orm) / sqliteStore(orm) instead, writing the
 * rows and calling markChanged(em) in the same transaction.
 */
import type { AddressInfo } from 'node:net';
import { createReloader, memoryStore } from '@apphook/core';
import { honoBinding } from '@apphook/hono';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const pages = new Map<string, string>([
  ['about', 'About us'],
  ['contact', 'Contact'],
]);

const binding = honoBinding({
  // A fresh Hono app per build: Hono's router cannot take routes after its first match.
  rebuildRoutes: async ({ version }) => {
    const pagesApp = new Hono();
    for (const [slug, title] of pages) {
      pagesApp.get(`/${slug}`, (c) => c.html(`<h1>${title}</h1><p>routes version ${version}</p>`));
    }
    return pagesApp;
  },
});

const store = memoryStore();
const reloader = createReloader({ store, binding, mode: 'push' });
reloader.on('reload', ({ from, to, durationMs }) =>
  console.log(`[example] routes v${from ?? '-'} -> v${to} in ${durationMs.toFixed(1)} ms`),
);
reloader.on('error', ({ error }) => console.error(`[example] ${error.message}`));

const app = new Hono();
// Static routes and middleware outside the binding: never touched by a swap.
app.use(async (c, next) => {
  await next();
  c.header('x-powered-by', 'apphook example');
});
app.get('/health', (c) => c.json({ ok: true, version: reloader.version }));
app.post('/admin/pages', async (c) => {
  const { slug, title } = await c.req.json<{ slug?: string; title?: string }>();
  if (!slug || !/^[a-z0-9-]+$/.test(slug) || !title) {
    return c.json({ error: 'send { "slug": "a-z0-9-", "title": "..." }' }, 400);
  }
  // Write the row and bump the version in one transaction; this process serves the new routes once it resolves.
  await store.transaction(async (tx) => {
    pages.set(slug, title);
    await reloader.markChanged(tx);
  });
  return c.json({ slug, version: reloader.version }, 201);
});
app.delete('/admin/pages/:slug', async (c) => {
  await store.transaction(async (tx) => {
    pages.delete(c.req.param('slug'));
    await reloader.markChanged(tx);
  });
  return c.body(null, 204);
});
app.use(binding.middleware);

const check = process.argv.includes('--check');
const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
  const server = serve(
    { fetch: app.fetch, port: check ? 0 : Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' },
    (info: AddressInfo) => resolve({ server, port: info.port }),
  );
});
await reloader.start();
const base = `http://127.0.0.1:${port}`;
console.log(`[example] hono listening on ${base}`);

if (check) {
  const expectStatus = async (path: string, status: number, init?: RequestInit) => {
    const response = await fetch(`${base}${path}`, init);
    console.log(`[example] ${init?.method ?? 'GET'} ${path} -> ${response.status}`);
    if (response.status !== status) throw new Error(`expected ${status} for ${path}, got ${response.status}`);
  };
  try {
    await expectStatus('/about', 200);
    await expectStatus('/pricing', 404);
    await expectStatus('/admin/pages', 201, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'pricing', title: 'Pricing' }),
    });
    await expectStatus('/pricing', 200);
    await expectStatus('/admin/pages/about', 204, { method: 'DELETE' });
    await expectStatus('/about', 404);
    await expectStatus('/health', 200);
    console.log('[example] check passed');
  } finally {
    await reloader.stop();
    server.close();
    if ('closeAllConnections' in server) server.closeAllConnections();
  }
}
