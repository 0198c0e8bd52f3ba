import type { AddressInfo } from 'node:net';
import { koaRouter } from '@apphook/apphooks/koa';
import { type BindingSuiteAppOptions, OUTER_HEADER, type RouteTable } from '@apphook/test-suite/binding';
import type { ApphookSuiteAppOptions } from '@apphook/test-suite/binding-apphooks';
import { Router } from '@koa/router';
import Koa from 'koa';
import { type KoaBindingOptions, koaBinding } from '../src/index.js';

/**
 * One `GET` route per table entry, on a fresh router. The hold runs in its own router-level middleware
 * before the route, so a binding that mutated the live router would send a held request on to new routes.
 */
export function tableRouter(table: RouteTable): Router {
  const router = new Router();
  for (const [path, spec] of Object.entries(table)) {
    const { hold } = spec;
    if (hold) {
      router.use(path, async (_ctx, next) => {
        await hold();
        await next();
      });
    }
    router.get(path, (ctx) => {
      ctx.type = 'text/plain';
      ctx.body = spec.body;
    });
  }
  return router;
}

/** The app the binding suite expects: outer middleware, /static, the binding, /after. */
export async function createSuiteApp(
  { rebuildTable, firstBuildWaitMs }: BindingSuiteAppOptions,
  extra: Omit<KoaBindingOptions, 'rebuildRoutes'> = {},
) {
  const binding = koaBinding({
    ...extra,
    firstBuildWaitMs,
    rebuildRoutes: async (context) => tableRouter(await rebuildTable(context)),
  });
  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.set(OUTER_HEADER, 'yes');
    await next();
  });
  const before = new Router();
  before.get('/static', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'static';
  });
  app.use(before.routes());
  app.use(binding.middleware);
  const after = new Router();
  after.get('/after', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'after';
  });
  app.use(after.routes());
  return { ...(await listen(app)), binding, app };
}

export async function listen(app: Koa) {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The app the apphooks part of the suite expects: /static, then the binding serving koaRouter(build). */
export async function createApphookSuiteApp({ rebuildBuild, firstBuildWaitMs }: ApphookSuiteAppOptions) {
  const binding = koaBinding({
    firstBuildWaitMs,
    rebuildRoutes: async (context) => koaRouter(await rebuildBuild(context)),
  });
  const app = new Koa();
  const before = new Router();
  before.get('/static', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'static';
  });
  app.use(before.routes());
  app.use(binding.middleware);
  return { ...(await listen(app)), binding };
}
