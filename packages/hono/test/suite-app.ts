import type { AddressInfo } from 'node:net';
import { honoApp } from '@apphook/apphooks/hono';
import { type BindingSuiteAppOptions, OUTER_HEADER, type RouteTable } from '@apphook/test-suite/binding';
import type { ApphookSuiteAppOptions } from '@apphook/test-suite/binding-apphooks';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type HonoBindingOptions, honoBinding } from '../src/index.js';

/**
 * One `GET` route per table entry, on a fresh app. The hold runs in its own middleware before the route, so
 * a binding that mutated the live app would send a held request on to new routes.
 */
export function tableApp(table: RouteTable): Hono {
  const app = new Hono();
  for (const [path, spec] of Object.entries(table)) {
    const { hold } = spec;
    if (hold) {
      app.use(path, async (_c, next) => {
        await hold();
        await next();
      });
    }
    app.get(path, (c) => c.text(spec.body));
  }
  return app;
}

/** The app the binding suite expects: outer middleware, /static, the binding, /after. */
export async function createSuiteApp(
  { rebuildTable, firstBuildWaitMs }: BindingSuiteAppOptions,
  extra: Omit<HonoBindingOptions<Hono>, 'rebuildRoutes'> = {},
) {
  const binding = honoBinding({
    ...extra,
    firstBuildWaitMs,
    rebuildRoutes: async (context) => tableApp(await rebuildTable(context)),
  });
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    c.header(OUTER_HEADER, 'yes');
  });
  app.get('/static', (c) => c.text('static'));
  app.use(binding.middleware);
  app.get('/after', (c) => c.text('after'));
  return { ...(await listen(app.fetch)), binding, app };
}

/** Serves `fetch` through @hono/node-server on an ephemeral loopback port. */
export async function listen(fetch: (request: Request) => Response | Promise<Response>) {
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve({ server, port: info.port }),
      );
    },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/** The app the apphooks part of the suite expects: /static, then the binding serving honoApp(build). */
export async function createApphookSuiteApp({ rebuildBuild, firstBuildWaitMs }: ApphookSuiteAppOptions) {
  const binding = honoBinding({
    firstBuildWaitMs,
    rebuildRoutes: async (context) => honoApp(await rebuildBuild(context)),
  });
  const app = new Hono();
  app.get('/static', (c) => c.text('static'));
  app.use(binding.middleware);
  return { ...(await listen(app.fetch)), binding };
}
