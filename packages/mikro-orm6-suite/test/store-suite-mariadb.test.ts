import { mysqlStore } from '@apphook/mysql';
import { services } from '@apphook/test-suite/services';
import { runStoreSuite } from '@apphook/test-suite/store';
import { MikroORM } from '@mikro-orm/mariadb';

await runStoreSuite({
  name: 'mariadb on MikroORM 6 (@mikro-orm/mariadb)',
  service: 'mysql',
  prefix: 'ahs6_maria',
  createOrm: (entities) => MikroORM.init({ entities, clientUrl: services.mysql, pool: { max: 10 } }),
  createStore: (orm, options) => mysqlStore(orm, options),
});
