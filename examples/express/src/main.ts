/**
 * An Express app whose page routes are rebuilt from a table whenever it changes, without a restart.
 *
 *   pnpm --filter @apphook/example-express start       # http://127.0.0.1:3000
 *   curl -X POST localhost:3000/admin/pages -H 'content-type: application/json' -d '{"slug":"pricing","title":"Pricing"}'
 *   curl localhost:3000/pricing
 *   pnpm --filter @apphook/example-express check       # self-test: starts, changes pages, exits
 *
 * The table is a Map and the store is memoryStore() so the example runs anywhere; a real app keeps pages
 * in its database and passes postgresStore(orm) / mysqlStore(orm) / sqliteStore(orm) instead, writing the
 * rows and calling markChanged(em) in the same transaction.
 */
import type { AddressInfo } from 'node:net';
import { createReloader, memoryStore } from '@apphook/core';
import { expressBinding } from '@apphook/express';
import express from 'express';

const pages = new Map<string, string>([
  ['about', 'About us'],
  ['contact', 'Contact'],
]);

const binding = expressBinding({
  // A fresh Router per build; the one being served is never touched.
  rebuildRoutes: async ({ version }) => {
    const router = express.Router();
    for (const [slug, title] of pages) {
      router.get(`/${slug}`, (_req, res) => {
        res.type('html').send(`<h1>${title}</h1><p>routes version ${version}</p>`);
      });
    }
    return router;
  },
});

const store = memoryStore();
const reloader = createReloader({ store, binding, mode: 'push' });
reloader.on('reload', ({ from, to, durationMs }) =>
  console.log(`[example] routes v${from ?? '-'} -> v${to} in ${durationMs.toFixed(1)} ms`),
);
reloader.on('error', ({ error }) => console.error(`[example] ${error.message}`));

const app = express();
app.use(express.json());
// Static routes and middleware outside the binding: never touched by a swap.
app.use((_req, res, next) => {
  res.setHeader('x-powered-by', 'apphook example');
  next();
});
app.get('/health', (_req, res) => {
  res.json({ ok: true, version: reloader.version });
});
app.post('/admin/pages', async (req, res) => {
  const { slug, title } = req.body as { slug?: string; title?: string };
  if (!slug || !/^[a-z0-9-]+$/.test(slug) || !title) {
    res.status(400).json({ error: 'send { "slug": "a-z0-9-", "title": "..." }' });
    return;
  }
  // Write the row and bump the version in one transaction; this process serves the new routes once it resolves.
  await store.transaction(async (tx) => {
    pages.set(slug, title);
    await reloader.markChanged(tx);
  });
  res.status(201).json({ slug, version: reloader.version });
});
app.delete('/admin/pages/:slug', async (req, res) => {
  await store.transaction(async (tx) => {
    pages.delete(req.params.slug);
    await reloader.markChanged(tx);
  });
  res.status(204).end();
});
app.use(binding.middleware);

const check = process.argv.includes('--check');
const server = app.listen(check ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await reloader.start();
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
console.log(`[example] express listening on ${base}`);

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
    server.closeAllConnections();
  }
}
