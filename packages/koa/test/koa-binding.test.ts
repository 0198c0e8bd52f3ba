import { type Binding, createReloader, memoryStore } from '@apphook/core';
import { Router } from '@koa/router';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { type KoaBindingOptions, koaBinding } from '../src/index.js';
import { listen } from './suite-app.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(binding: Binding<unknown>) {
  const store = memoryStore({ logger: false });
  const reloader = createReloader({ store, binding, logger: false });
  cleanups.push(() => reloader.stop());
  await reloader.start();
  return { store, reloader, change: () => store.transaction((tx) => reloader.markChanged(tx)) };
}

/** An app with the binding and a fallback route after it, serving dynamic GET routes from `paths()`. */
async function appWith(paths: () => string[], options: Omit<KoaBindingOptions, 'rebuildRoutes'> = {}) {
  const binding = koaBinding({
    ...options,
    rebuildRoutes: () => {
      const router = new Router();
      for (const path of paths()) {
        router.get(path, (ctx) => {
          ctx.body = `dynamic ${path}`;
        });
      }
      return router;
    },
  });
  const app = new Koa();
  app.use(binding.middleware);
  app.use((ctx) => {
    if (ctx.path === '/fallback') ctx.body = 'fallback';
  });
  const server = await listen(app);
  cleanups.push(server.close);
  return { binding, url: server.url, ...(await started(binding)) };
}

describe('koaBinding options', () => {
  it('throws an option error naming the package when rebuildRoutes is missing', () => {
    expect(() => koaBinding({} as never)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => koaBinding({} as never)).toThrow(/apphook\/koa.*rebuildRoutes/);
  });

  it('rejects bad firstBuildWaitMs, retryAfterSeconds and allowedMethods', () => {
    const rebuildRoutes = () => new Router();
    expect(() => koaBinding({ rebuildRoutes, firstBuildWaitMs: Number.NaN })).toThrow(/firstBuildWaitMs/);
    expect(() => koaBinding({ rebuildRoutes, retryAfterSeconds: -2 })).toThrow(/retryAfterSeconds/);
    expect(() => koaBinding({ rebuildRoutes, allowedMethods: 'yes' as never })).toThrow(/allowedMethods/);
  });

  it('rejects a build that is not a @koa/router Router', async () => {
    const binding = koaBinding({ rebuildRoutes: () => ((ctx: Koa.Context) => ctx) as unknown as Router });
    const reloader = createReloader({ store: memoryStore({ logger: false }), binding, logger: false });
    cleanups.push(() => reloader.stop());
    await expect(reloader.start()).rejects.toThrow(/new Router\(\) from @koa\/router/);
  });
});

describe('koaBinding allowedMethods', () => {
  it('answers 405 with Allow, and OPTIONS, for dynamic paths, from the router now served', async () => {
    let paths = ['/a'];
    const { url, change } = await appWith(() => paths);
    const post = await fetch(`${url}/a`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toContain('GET');
    const options = await fetch(`${url}/a`, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toContain('GET');
    // After a swap the old path is unknown to allowedMethods too: a plain 404, not a stale 405.
    paths = ['/b'];
    await change();
    expect((await fetch(`${url}/a`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${url}/b`, { method: 'POST' })).status).toBe(405);
  });

  it('lets unmatched paths and methods fall through to the middleware after it', async () => {
    const { url } = await appWith(() => ['/a']);
    const fallback = await fetch(`${url}/fallback`);
    expect([fallback.status, await fallback.text()]).toEqual([200, 'fallback']);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
  });

  it('mounts routes() alone when allowedMethods is false', async () => {
    const { url } = await appWith(() => ['/a'], { allowedMethods: false });
    expect((await fetch(`${url}/a`, { method: 'POST' })).status).toBe(404);
    expect(await (await fetch(`${url}/a`)).text()).toBe('dynamic /a');
  });

  it('passes allowedMethods options through (throw: true raises HttpErrors)', async () => {
    const { url } = await appWith(() => ['/a'], { allowedMethods: { throw: true } });
    const post = await fetch(`${url}/a`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.text()).toBe('Method Not Allowed');
  });
});

describe('koaBinding in an app', () => {
  it('serves route params and exposes the router and version now served', async () => {
    const routers: Router[] = [];
    const binding = koaBinding({
      rebuildRoutes: () => {
        const router = new Router();
        router.get('/pages/:slug', (ctx) => {
          ctx.body = { slug: ctx.params.slug };
        });
        routers.push(router);
        return router;
      },
    });
    const app = new Koa();
    app.use(binding.middleware);
    const server = await listen(app);
    cleanups.push(server.close);
    expect(binding.current).toBeUndefined();
    const { change } = await started(binding);
    expect(await (await fetch(`${server.url}/pages/about`)).json()).toEqual({ slug: 'about' });
    await change();
    expect(binding.current).toBe(routers[1]);
    expect(binding.version).toBe(1);
  });

  it('answers 503 at once with the configured Retry-After when firstBuildWaitMs is 0', async () => {
    const binding = koaBinding({
      rebuildRoutes: () => new Router(),
      firstBuildWaitMs: 0,
      retryAfterSeconds: 3,
    });
    const app = new Koa();
    app.use(binding.middleware);
    const server = await listen(app);
    cleanups.push(server.close);
    const response = await fetch(`${server.url}/x`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('3');
  });
});
