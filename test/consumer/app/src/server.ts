/** Serves the pages of the database, rebuilt whenever another process commits a change. */
import type { AddressInfo } from 'node:net';
import { expressBinding } from '@apphook/express';
import express from 'express';
import { closeDb, createReloader, openDb, PageSchema } from './db.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: node dist/server.js <file.sqlite>');
const db = await openDb(file);
await db.orm.schema.update(); // creates the pages and token tables (ApphookToken is in entities)

const binding = expressBinding({
  rebuildRoutes: async ({ version }) => {
    const router = express.Router();
    for (const page of await db.orm.em.fork().find(PageSchema, {})) {
      router.get(page.path, (_req, res) => {
        res.type('text').send(`${page.body} (v${version})`);
      });
    }
    return router;
  },
});
const reloader = createReloader({ store: db.store, binding, mode: 'interval', intervalMs: 100 });
reloader.on('error', ({ error }) => console.error(`[server] ${error.message}`));

const app = express();
app.get('/health', (_req, res) => {
  res.json({ version: reloader.version ?? null });
});
app.use(binding.middleware);
await reloader.start();
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
console.log(`listening ${(server.address() as AddressInfo).port}`);

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void closeDb(db, reloader).then(() => console.log('stopped'));
});
