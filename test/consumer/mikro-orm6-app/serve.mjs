// A process that serves routes: builds once, then follows commits through Postgres LISTEN/NOTIFY. Prints one
// JSON line per build: {"version":n,"titles":[...]}. Plain JavaScript, as a MikroORM 6 user on Node 20 runs it.
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
const binding = callbackBinding({
  rebuildRoutes: async ({ version }) => {
    const pages = await orm.em.fork().find(settings.pageEntity, {}, { orderBy: { title: 'asc' } });
    const titles = pages.map((page) => page.title);
    console.log(JSON.stringify({ version, titles, node: process.versions.node }));
    return titles;
  },
});
const reloader = createReloader({ store, binding, scope: settings.scope, mode: 'push', intervalMs: 60_000 });
await reloader.start();
process.on('SIGTERM', async () => {
  await reloader.stop();
  await store.close();
  await orm.close(true);
});
