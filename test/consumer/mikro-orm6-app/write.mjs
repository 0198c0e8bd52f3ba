// A second process that changes a page and calls markChanged in the same transaction.
import { callbackBinding, createReloader } from '@apphook/core';
import { postgresStore } from '@apphook/postgresql';
import { MikroORM } from '@mikro-orm/postgresql';
import { entities, settings } from './shared.mjs';

const orm = await MikroORM.init({
  entities,
  clientUrl: settings.url,
  discovery: { warnWhenNoEntities: false },
});
const store = postgresStore(orm, { tableName: settings.tokenTable, channel: settings.channel });
const binding = callbackBinding({ rebuildRoutes: async () => [] });
const reloader = createReloader({
  store,
  binding,
  scope: settings.scope,
  mode: 'interval',
  intervalMs: 60_000,
});
await reloader.start();
const version = await orm.em.fork().transactional(async (em) => {
  em.create(settings.pageEntity, { title: process.argv[2] ?? 'new page' });
  await em.flush();
  return reloader.markChanged(em);
});
console.log(JSON.stringify({ version, node: process.versions.node }));
await reloader.stop();
await store.close();
await orm.close(true);
