// Creates the tables: the token table through the store, the page table through MikroORM 6's schema generator.
import { postgresStore } from '@apphook/postgresql';
import { MikroORM } from '@mikro-orm/postgresql';
import { entities, settings } from './shared.mjs';

const orm = await MikroORM.init({
  entities,
  clientUrl: settings.url,
  discovery: { warnWhenNoEntities: false },
});
await orm.getSchemaGenerator().updateSchema({ safe: true });
const store = postgresStore(orm, { tableName: settings.tokenTable });
await store.ensureSchema();
await store.close();
await orm.close(true);
console.log('ready');
