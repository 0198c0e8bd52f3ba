import { mysqlStore } from '@apphook/mysql';
import { services } from '@apphook/test-suite/services';
import { runStoreSuite } from '@apphook/test-suite/store';
import { MikroORM } from '@mikro-orm/mysql';

await runStoreSuite({
  name: 'mysql (@mikro-orm/mysql driver)',
  service: 'mysql',
  prefix: 'ahs_my',
  createOrm: (entities) => MikroORM.init({ entities, clientUrl: services.mysql, pool: { max: 10 } }),
  createStore: (orm, options) => mysqlStore(orm, options),
});
