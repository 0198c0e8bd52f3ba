/** Changes one page in a transaction that also bumps the routes version, then exits. */
import { callbackBinding } from '@apphook/core';
import { closeDb, createReloader, openDb, PageSchema } from './db.js';

const [file, path, body] = process.argv.slice(2);
if (file === undefined || path === undefined || body === undefined) {
  throw new Error('usage: node dist/writer.js <file.sqlite> <path> <body>');
}
const db = await openDb(file);
const reloader = createReloader({ store: db.store, binding: callbackBinding({ rebuildRoutes: () => ({}) }) });
await reloader.start();
await db.orm.em.transactional(async (em) => {
  const page = await em.findOne(PageSchema, { path });
  if (page) page.body = body;
  else em.persist(em.create(PageSchema, { path, body }));
  await reloader.markChanged(em); // in this transaction: the other process rebuilds after commit
});
console.log(`written ${path} v${reloader.version}`);
await closeDb(db, reloader);
