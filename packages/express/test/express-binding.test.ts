import { type Binding, createReloader, memoryStore } from '@apphook/core';
import express, { type ErrorRequestHandler, type Router } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { expressBinding } from '../src/index.js';
import { listen } from './suite-app.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(app: express.Express): Promise<string> {
  const server = await listen(app);
  cleanups.push(server.close);
  return server.url;
}

async function started(binding: Binding<unknown>) {
  const store = memoryStore({ logger: false });
  const reloader = createReloader({ store, binding, logger: false });
  cleanups.push(() => reloader.stop());
  await reloader.start();
  return { store, reloader };
}

describe('expressBinding options', () => {
  it('throws an option error naming the package when rebuildRoutes is missing', () => {
    expect(() => expressBinding({} as never)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => expressBinding({} as never)).toThrow(/apphook\/express.*rebuildRoutes/);
  });

  it('rejects a negative firstBuildWaitMs and a zero retryAfterSeconds', () => {
    const rebuildRoutes = () => express.Router();
    expect(() => expressBinding({ rebuildRoutes, firstBuildWaitMs: -1 })).toThrow(/firstBuildWaitMs/);
    expect(() => expressBinding({ rebuildRoutes, retryAfterSeconds: 0 })).toThrow(/retryAfterSeconds/);
  });

  it('rejects a build that is not a router, and start() says the first build failed', async () => {
    const binding = expressBinding({ rebuildRoutes: () => ({ not: 'a router' }) as unknown as Router });
    const reloader = createReloader({ store: memoryStore({ logger: false }), binding, logger: false });
    cleanups.push(() => reloader.stop());
    await expect(reloader.start()).rejects.toThrow(/express\.Router\(\)/);
  });
});

describe('expressBinding refuses the outer app (issue 12 item 5)', () => {
  it('a rebuildRoutes that returns the app mounting the binding fails the first build with a clear message', async () => {
    const app = express();
    const binding = expressBinding({ rebuildRoutes: () => app as unknown as Router });
    app.use(binding.middleware);
    const reloader = createReloader({ store: memoryStore({ logger: false }), binding, logger: false });
    cleanups.push(() => reloader.stop());
    await expect(reloader.start()).rejects.toThrow(
      /apphook\/express.*mounts this binding's own middleware \(the outer app\?\).*express\.Router\(\)/,
    );
  });

  it('also when the binding sits in a router of the outer app; the last good routes keep serving', async () => {
    const app = express();
    const outer = express.Router();
    let returnOuter = false;
    const binding = expressBinding({
      rebuildRoutes: () => {
        if (returnOuter) return app as unknown as Router;
        const router = express.Router();
        router.get('/page', (_req, res) => void res.send('page'));
        return router;
      },
    });
    outer.use('/cms', binding.middleware);
    app.use(outer);
    const url = await serve(app);
    const { store, reloader } = await started(binding);
    const errors: string[] = [];
    reloader.on('error', (e) => errors.push(e.error.message));
    returnOuter = true;
    await store.transaction((tx) => reloader.markChanged(tx));
    expect(reloader.version).toBe(0);
    expect(errors[0]).toMatch(/mounts this binding's own middleware/);
    const response = await fetch(`${url}/cms/page`);
    expect([response.status, await response.text()]).toEqual([200, 'page']);
  });

  it('still accepts a fresh sub-app', async () => {
    const binding = expressBinding({
      rebuildRoutes: () => {
        const sub = express();
        sub.get('/hello', (_req, res) => void res.send('hi'));
        return sub as unknown as Router;
      },
    });
    const app = express();
    app.use(binding.middleware);
    const url = await serve(app);
    await started(binding);
    expect(await (await fetch(`${url}/hello`)).text()).toBe('hi');
  });
});

describe('expressBinding in an app', () => {
  it('serves a router mounted under a path, with params and the original URL', async () => {
    const binding = expressBinding({
      rebuildRoutes: () => {
        const router = express.Router();
        router.get('/pages/:slug', (req, res) => {
          res.json({ slug: req.params.slug, originalUrl: req.originalUrl, baseUrl: req.baseUrl });
        });
        return router;
      },
    });
    const app = express();
    app.use('/cms', binding.middleware);
    const url = await serve(app);
    await started(binding);
    const response = await fetch(`${url}/cms/pages/about?x=1`);
    expect(await response.json()).toEqual({
      slug: 'about',
      originalUrl: '/cms/pages/about?x=1',
      baseUrl: '/cms',
    });
    expect((await fetch(`${url}/pages/about`)).status).toBe(404);
  });

  it('hands errors thrown by dynamic routes to the outer error handler', async () => {
    const binding = expressBinding({
      rebuildRoutes: () => {
        const router = express.Router();
        router.get('/boom', () => {
          throw new Error('page failed');
        });
        router.get('/async-boom', async () => {
          throw new Error('async page failed');
        });
        return router;
      },
    });
    const app = express();
    app.use(binding.middleware);
    const onError: ErrorRequestHandler = (error, _req, res, _next) => {
      res.status(418).send(`handled: ${(error as Error).message}`);
    };
    app.use(onError);
    const url = await serve(app);
    await started(binding);
    const sync = await fetch(`${url}/boom`);
    expect([sync.status, await sync.text()]).toEqual([418, 'handled: page failed']);
    const rejected = await fetch(`${url}/async-boom`);
    expect([rejected.status, await rejected.text()]).toEqual([418, 'handled: async page failed']);
  });

  it('answers 503 at once with the configured Retry-After when firstBuildWaitMs is 0', async () => {
    const binding = expressBinding({
      rebuildRoutes: () => express.Router(),
      firstBuildWaitMs: 0,
      retryAfterSeconds: 7,
    });
    const app = express();
    app.use(binding.middleware);
    const url = await serve(app);
    const response = await fetch(`${url}/anything`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('7');
  });

  it('exposes the router and version now served', async () => {
    const routers: Router[] = [];
    const binding = expressBinding({
      rebuildRoutes: () => {
        const router = express.Router();
        routers.push(router);
        return router;
      },
    });
    expect(binding.current).toBeUndefined();
    const { store, reloader } = await started(binding);
    expect(binding.current).toBe(routers[0]);
    await store.transaction((tx) => reloader.markChanged(tx));
    expect(binding.current).toBe(routers[1]);
    expect(binding.version).toBe(1);
    expect(reloader.current).toBe(routers[1]);
  });
});
