import { postgresStore } from '@apphook/postgresql';
import { services } from '@apphook/test-suite/services';
import { runStoreSuite } from '@apphook/test-suite/store';
import { MikroORM } from '@mikro-orm/postgresql';

await runStoreSuite({
  name: 'postgresql',
  service: 'postgres',
  prefix: 'ahs_pg',
  createOrm: (entities) => MikroORM.init({ entities, clientUrl: services.postgres, pool: { max: 10 } }),
  createStore: (orm, options) => postgresStore(orm, { ...options, channel: 'ahs_pg_suite' }),
});
