import type { AddressInfo } from 'node:net';
import { expressBinding } from '@apphook/express';
import express from 'express';
import { buildHeaders, type Frontend, renderPage, type SiteApi } from './frontend.js';
import { attachedPaths, expressApphooks, linksOf } from './frontend-apphooks.js';
import type { PageChange } from './writer.js';

/** The site on Express 5: static routes, then the binding's middleware, then a 404. */
export function expressFrontend(api: SiteApi): Frontend {
  const binding = expressBinding<express.Router>({
    rebuildRoutes: async ({ version }) => {
      const snapshot = await api.snapshot(version);
      const { pages, info } = snapshot;
      const router = express.Router();
      const attached = attachedPaths(snapshot);
      for (const page of pages.filter((p) => !attached.has(p.path))) {
        router.get(page.path, (_req, res) => {
          res
            .set(buildHeaders(info))
            .type('html')
            .send(renderPage(page, info, api.name, pages));
        });
      }
      expressApphooks(router, snapshot);
      return router;
    },
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json());
  app.use((_req, res, next) => {
    res.setHeader('X-Worker', api.name);
    next();
  });
  app.get('/__status', (_req, res) => {
    res.json(api.status());
  });
  app.get('/__pages', async (_req, res) => {
    res.json(await api.pages());
  });
  app.get('/__workers', (_req, res) => {
    res.json(api.workers());
  });
  app.post('/__admin/change', async (req, res) => {
    try {
      res.json(await api.change(req.body as PageChange));
    } catch (error) {
      res.status(400).json({ error: error instanceof Error ? error.message : String(error) });
    }
  });
  app.get('/__links', (req, res) => {
    const links = linksOf(binding, req);
    if (links) res.json(links);
    else res.status(404).type('text').send('not found');
  });
  app.get('/admin', (_req, res) => {
    res.type('html').send(api.adminHtml());
  });
  app.use(binding.middleware);
  app.use((_req, res) => {
    res.status(404).type('text').send('not found');
  });
  return {
    binding,
    async listen(port, host) {
      const server = app.listen(port, host);
      await new Promise<void>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      server.keepAliveTimeout = 5_000;
      return {
        port: (server.address() as AddressInfo).port,
        close: async () => {
          server.closeAllConnections?.();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    },
  };
}
