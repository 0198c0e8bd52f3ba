/**
 * A Koa app whose page routes are rebuilt from a table whenever it changes, without a restart. The swapped
 * part is the rebuilt @koa/router's routes() and allowedMethods() together.
 *
 *   pnpm --filter @apphook/example-koa start       # http://127.0.0.1:3000
 *   curl -X POST 'localhost:3000/admin/pages?slug=pricing&title=Pricing'
 *   curl localhost:3000/pricing
 *   pnpm --filter @apphook/example-koa check       # self-test: starts, changes pages, exits
 *
 * The table is a Map and the store is memoryStore() so the example runs anywhere; a real app keeps pages
 * in its database and passes postgresStore(orm) / mysqlStore(orm) / sqliteStore(orm) instead, writing the
 * rows and calling markChanged(em) in the same transaction.
 */
import type { AddressInfo } from 'node:net';
import { createReloader, memoryStore } from '@apphook/core';
import { koaBinding } from '@apphook/koa';
import { Router } from '@koa/router';
import Koa from 'koa';

const pages = new Map<string, string>([
  ['about', 'About us'],
  ['contact', 'Contact'],
]);

const binding = koaBinding({
  // A fresh Router per build; the one being served is never touched.
  rebuildRoutes: async ({ version }) => {
    const router = new Router();
    for (const [slug, title] of pages) {
      router.get(`/${slug}`, (ctx) => {
        ctx.type = 'html';
        ctx.body = `<h1>${title}</h1><p>routes version ${version}</p>`;
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

// Static routes and middleware outside the binding: never touched by a swap.
const admin = new Router();
admin.get('/health', (ctx) => {
  ctx.body = { ok: true, version: reloader.version };
});
admin.post('/admin/pages', async (ctx) => {
  const slug = String(ctx.query.slug ?? '');
  const title = String(ctx.query.title ?? '');
  if (!/^[a-z0-9-]+$/.test(slug) || !title) {
    ctx.status = 400;
    ctx.body = { error: 'POST /admin/pages?slug=a-z0-9-&title=...' };
    return;
  }
  // Write the row and bump the version in one transaction; this process serves the new routes once it resolves.
  await store.transaction(async (tx) => {
    pages.set(slug, title);
    await reloader.markChanged(tx);
  });
  ctx.status = 201;
  ctx.body = { slug, version: reloader.version };
});
admin.delete('/admin/pages/:slug', async (ctx) => {
  await store.transaction(async (tx) => {
    pages.delete(ctx.params.slug ?? '');
    await reloader.markChanged(tx);
  });
  ctx.status = 204;
});

const app = new Koa();
app.use(async (ctx, next) => {
  ctx.set('x-powered-by', 'apphook example');
  await next();
});
app.use(admin.routes());
app.use(admin.allowedMethods());
app.use(binding.middleware);

const check = process.argv.includes('--check');
const server = app.listen(check ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await reloader.start();
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
console.log(`[example] koa listening on ${base}`);

if (check) {
  const expectStatus = async (path: string, status: number, method = 'GET') => {
    const response = await fetch(`${base}${path}`, { method });
    console.log(`[example] ${method} ${path} -> ${response.status}`);
    if (response.status !== status) throw new Error(`expected ${status} for ${path}, got ${response.status}`);
  };
  try {
    await expectStatus('/about', 200);
    await expectStatus('/about', 405, 'POST'); // allowedMethods of the rebuilt router
    await expectStatus('/pricing', 404);
    await expectStatus('/admin/pages?slug=pricing&title=Pricing', 201, 'POST');
    await expectStatus('/pricing', 200);
    await expectStatus('/admin/pages/about', 204, 'DELETE');
    await expectStatus('/about', 404);
    await expectStatus('/health', 200);
    console.log('[example] check passed');
  } finally {
    await reloader.stop();
    server.close();
    server.closeAllConnections();
  }
}
