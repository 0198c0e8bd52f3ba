import type { AddressInfo } from 'node:net';
import { type BindingSuiteAppOptions, OUTER_HEADER, type RouteTable } from '@apphook/test-suite/binding';
import express5, { type Router } from 'express';
import { expressBinding } from '../src/index.js';

/** `express` (5) or `express4`: both have the same shape as far as these tests go. */
export type ExpressModule = typeof express5;

/**
 * One `GET` route per table entry, on a fresh router. The hold runs in its own router-level layer before the
 * route, so a binding that mutated the live router's stack would send a held request on to the new routes.
 */
export function tableRouter(table: RouteTable, express: ExpressModule = express5): Router {
  const router = express.Router();
  for (const [path, spec] of Object.entries(table)) {
    const { hold } = spec;
    if (hold) {
      router.use(path, async (_req, _res, next) => {
        await hold();
        next();
      });
    }
    router.get(path, (_req, res) => {
      res.type('text/plain').send(spec.body);
    });
  }
  return router;
}

/** The app the binding suite expects: outer middleware, /static, the binding, /after. */
export function suiteApp(express: ExpressModule) {
  return async ({ rebuildTable, firstBuildWaitMs }: BindingSuiteAppOptions) => {
    const binding = expressBinding({
      firstBuildWaitMs,
      rebuildRoutes: async (context) => tableRouter(await rebuildTable(context), express),
    });
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader(OUTER_HEADER, 'yes');
      next();
    });
    app.get('/static', (_req, res) => {
      res.type('text/plain').send('static');
    });
    app.use(binding.middleware);
    app.get('/after', (_req, res) => {
      res.type('text/plain').send('after');
    });
    return { ...(await listen(app)), binding };
  };
}

/** Listens on an ephemeral loopback port. */
export async function listen(app: ReturnType<ExpressModule>) {
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
