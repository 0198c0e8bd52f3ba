import { createReloader, memoryStore } from '@apphook/core';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { describe, expect, it } from 'vitest';
import { honoBinding } from '../src/index.js';
import { cleanups, started } from './started.js';
import { listen } from './suite-app.js';

async function serve(fetch: (request: Request) => Response | Promise<Response>): Promise<string> {
  const server = await listen(fetch);
  cleanups.push(server.close);
  return server.url;
}

describe('honoBinding options', () => {
  it('throws an option error naming the package when rebuildRoutes is missing', () => {
    expect(() => honoBinding({} as never)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => honoBinding({} as never)).toThrow(/apphook\/hono.*rebuildRoutes/);
  });

  it('rejects bad firstBuildWaitMs, retryAfterSeconds and fallthrough', () => {
    const rebuildRoutes = () => new Hono();
    expect(() => honoBinding({ rebuildRoutes, firstBuildWaitMs: -5 })).toThrow(/firstBuildWaitMs/);
    expect(() => honoBinding({ rebuildRoutes, retryAfterSeconds: Number.POSITIVE_INFINITY })).toThrow(
      /retryAfterSeconds/,
    );
    expect(() => honoBinding({ rebuildRoutes, fallthrough: 'no' as never })).toThrow(/fallthrough/);
  });

  it('rejects a build that is not a Hono app', async () => {
    const binding = honoBinding({ rebuildRoutes: () => ({ routes: [] }) as unknown as Hono });
    const reloader = createReloader({ store: memoryStore({ logger: false }), binding, logger: false });
    cleanups.push(() => reloader.stop());
    await expect(reloader.start()).rejects.toThrow(/new Hono\(\)/);
  });
});

describe('honoBinding in an app', () => {
  it('passes the outer env (node-server bindings) to the built app, and answers HEAD', async () => {
    const binding = honoBinding({
      rebuildRoutes: () =>
        new Hono<{ Bindings: { incoming?: unknown } }>().get('/env', (c) =>
          c.text(c.env.incoming ? 'has incoming' : 'no env'),
        ),
    });
    const app = new Hono();
    app.use(binding.middleware);
    const url = await serve(app.fetch);
    await started(binding);
    expect(await (await fetch(`${url}/env`)).text()).toBe('has incoming');
    const head = await fetch(`${url}/env`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('hands the built app exactly the execution context the outer app got, none when it got none', async () => {
    const probe = (c: { executionCtx: unknown }) => {
      try {
        return c.executionCtx;
      } catch {
        return 'none';
      }
    };
    let seen: unknown;
    const binding = honoBinding({
      rebuildRoutes: () =>
        new Hono().get('/ctx', (c) => {
          seen = probe(c);
          return c.text('ok');
        }),
    });
    await started(binding);
    const app = new Hono();
    app.use(binding.middleware);
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} };
    expect((await app.request('/ctx', {}, {}, ctx)).status).toBe(200);
    expect(seen).toBe(ctx);
    const limit = Error.stackTraceLimit;
    expect((await app.request('/ctx')).status).toBe(200);
    expect(seen).toBe('none');
    // The probe of a missing context runs without a stack trace (it cost ~8 us per request) and restores the limit.
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('serves under a prefix with basePath, or mounted with app.mount and binding.handler', async () => {
    const binding = honoBinding({
      rebuildRoutes: () =>
        new Hono().basePath('/cms').get('/pages/:slug', (c) => c.json({ slug: c.req.param('slug') })),
    });
    const mounted = honoBinding({
      rebuildRoutes: () => new Hono().get('/pages/:slug', (c) => c.json({ slug: c.req.param('slug') })),
    });
    const app = new Hono();
    app.use('/cms/*', binding.middleware);
    app.mount('/mounted', mounted.handler);
    const url = await serve(app.fetch);
    await started(binding);
    await started(mounted);
    expect(await (await fetch(`${url}/cms/pages/about`)).json()).toEqual({ slug: 'about' });
    expect(await (await fetch(`${url}/mounted/pages/contact`)).json()).toEqual({ slug: 'contact' });
    expect((await fetch(`${url}/mounted/nothing`)).status).toBe(404);
  });

  it('keeps headers from outer middleware such as cors() on dynamic responses', async () => {
    const binding = honoBinding({
      rebuildRoutes: () => new Hono().get('/a', (c) => c.text('a', 200, { 'x-inner': 'yes' })),
    });
    const app = new Hono();
    app.use(cors({ origin: 'https://example.test' }));
    app.use(async (c, next) => {
      await next();
      c.header('x-after', 'yes');
    });
    app.use(binding.middleware);
    const url = await serve(app.fetch);
    await started(binding);
    const response = await fetch(`${url}/a`, { headers: { origin: 'https://example.test' } });
    expect(await response.text()).toBe('a');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://example.test');
    expect(response.headers.get('x-after')).toBe('yes');
    expect(response.headers.get('x-inner')).toBe('yes');
  });

  it('serves as the whole app through binding.handler, with a 404 for unmatched paths', async () => {
    const binding = honoBinding({ rebuildRoutes: () => new Hono().get('/a', (c) => c.text('a')) });
    const url = await serve(binding.handler);
    await started(binding);
    expect(await (await fetch(`${url}/a`)).text()).toBe('a');
    expect((await fetch(`${url}/b`)).status).toBe(404);
  });

  it("keeps the built app's own notFound when fallthrough is false", async () => {
    const binding = honoBinding({
      fallthrough: false,
      rebuildRoutes: () =>
        new Hono().get('/a', (c) => c.text('a')).notFound((c) => c.text('tenant 404', 404)),
    });
    const app = new Hono();
    app.use(binding.middleware);
    app.get('/after', (c) => c.text('after'));
    const url = await serve(app.fetch);
    await started(binding);
    const missing = await fetch(`${url}/after`);
    expect([missing.status, await missing.text()]).toEqual([404, 'tenant 404']);
  });

  it('hands errors thrown by dynamic routes to the built app onError', async () => {
    const binding = honoBinding({
      rebuildRoutes: () =>
        new Hono()
          .get('/boom', () => {
            throw new Error('page failed');
          })
          .onError((error, c) => c.text(`handled: ${error.message}`, 418)),
    });
    const app = new Hono();
    app.use(binding.middleware);
    const url = await serve(app.fetch);
    await started(binding);
    const response = await fetch(`${url}/boom`);
    expect([response.status, await response.text()]).toEqual([418, 'handled: page failed']);
  });

  it('answers 503 at once with the configured Retry-After when firstBuildWaitMs is 0', async () => {
    const binding = honoBinding({
      rebuildRoutes: () => new Hono(),
      firstBuildWaitMs: 0,
      retryAfterSeconds: 2,
    });
    const url = await serve(binding.handler);
    const response = await fetch(`${url}/x`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
  });

  it('exposes the app and version now served', async () => {
    const apps: Hono[] = [];
    const binding = honoBinding({
      rebuildRoutes: () => {
        const app = new Hono();
        apps.push(app);
        return app;
      },
    });
    const { change } = await started(binding);
    expect(binding.current).toBe(apps[0]);
    await change();
    expect(binding.current).toBe(apps[1]);
    expect(binding.version).toBe(1);
  });
});
