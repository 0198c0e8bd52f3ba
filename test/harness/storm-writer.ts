/**
 * A writer-only process for the storm: an ORM, the store and a reloader that is never started (an admin CLI or a
 * batch job). Each change is one transaction that adds a page and calls markChanged; it reports when done.
 * Config in APPHOOK_STORM: { db, scope, prefix, count }.
 */
import { callbackBinding, createReloader } from '@apphook/core';
import { type DbConfig, openDatabase } from '@apphook/example-pages-site/db';

const { db, scope, prefix, count } = JSON.parse(process.env.APPHOOK_STORM ?? '{}') as {
  db: DbConfig;
  scope: string;
  prefix: string;
  count: number;
};
const database = await openDatabase(db);
const reloader = createReloader({
  store: database.store,
  scope,
  mode: 'interval',
  logger: false,
  binding: callbackBinding({ rebuildRoutes: () => ({}) }),
});
process.send?.({ type: 'ready' });
await new Promise((resolve) => process.once('message', resolve));
const started = performance.now();
let last = 0;
for (let i = 0; i < count; i++) {
  last = await database.orm.em.fork().transactional(async (em) => {
    em.create(database.Page, { path: `${prefix}${i}`, title: `${prefix} ${i}`, body: '' });
    await em.flush();
    return reloader.markChanged(em);
  });
}
process.send?.({ type: 'done', last, ms: performance.now() - started });
await database.close();
process.disconnect?.();
