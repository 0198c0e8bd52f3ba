import { postgresStore } from '@apphook/postgresql';
import { services } from '@apphook/test-suite/services';
import { runStoreSuite } from '@apphook/test-suite/store';
import { MikroORM } from '@mikro-orm/postgresql';

await runStoreSuite({
  name: 'postgresql on MikroORM 6',
  service: 'postgres',
  prefix: 'ahs6_pg',
  createOrm: (entities) => MikroORM.init({ entities, clientUrl: services.postgres, pool: { max: 10 } }),
  createStore: (orm, options) => postgresStore(orm, { ...options, channel: 'ahs6_pg_suite' }),
});
