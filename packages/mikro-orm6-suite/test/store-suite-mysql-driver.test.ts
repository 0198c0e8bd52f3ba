import { mysqlStore } from '@apphook/mysql';
import { services } from '@apphook/test-suite/services';
import { runStoreSuite } from '@apphook/test-suite/store';
import { MikroORM } from '@mikro-orm/mysql';

await runStoreSuite({
  name: 'mariadb on MikroORM 6 (@mikro-orm/mysql driver)',
  service: 'mysql',
  prefix: 'ahs6_mysql',
  createOrm: (entities) => MikroORM.init({ entities, clientUrl: services.mysql, pool: { max: 10 } }),
  createStore: (orm, options) => mysqlStore(orm, options),
});
