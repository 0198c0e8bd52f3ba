import { ApphookOptionError } from '@apphook/core';
import { sqliteStore, watchEntities } from '@apphook/sqlite';
import { EntitySchema, MikroORM } from '@mikro-orm/sqlite';
import { afterEach, describe, expect, it } from 'vitest';

interface Page {
  id: number;
  path: string;
}

const Page = new EntitySchema<Page>({
  name: 'WatchPage',
  tableName: 'ahs_sqlite_watch_page',
  properties: { id: { type: 'number', primary: true, autoincrement: true }, path: { type: 'string' } },
});

const open: MikroORM[] = [];
async function setup(implicitTransactions = true) {
  const orm = await MikroORM.init({ entities: [Page], dbName: ':memory:', implicitTransactions });
  open.push(orm);
  await orm.schema.create();
  const store = sqliteStore(orm, { tableName: 'ahs_sqlite_watch_token' });
  await store.ensureSchema();
  return { orm, store };
}

afterEach(async () => {
  for (const orm of open.splice(0)) await orm.close(true);
});

describe('watchEntities', () => {
  it('lets several watches bump their own scopes from one flush', async () => {
    const { orm, store } = await setup();
    watchEntities(orm, { entities: [Page], store, scope: 'one' });
    watchEntities(orm, { entities: [Page], store, scope: 'two' });
    const em = orm.em.fork();
    em.create(Page, { path: '/a' });
    await em.flush();
    expect(await store.read('one')).toBe(1);
    expect(await store.read('two')).toBe(1);
  });

  it('bumps without a transaction when the ORM flushes without one (implicitTransactions: false)', async () => {
    const { orm, store } = await setup(false);
    watchEntities(orm, { entities: [Page], store, scope: 'plain' });
    const em = orm.em.fork();
    em.create(Page, { path: '/plain' });
    await em.flush();
    expect(await store.read('plain')).toBe(1);
  });

  it('rejects options it cannot act on, saying what to pass', async () => {
    const { orm, store } = await setup();
    const reloader = { scope: 'default', markChanged: async () => 1 };
    const bad: Array<[unknown, RegExp]> = [
      [{ store }, /needs \{ entities/],
      [{ entities: [], store }, /needs \{ entities/],
      [{ entities: [Page] }, /exactly one of/],
      [{ entities: [Page], store, reloader }, /exactly one of/],
      [{ entities: ['Nope'], store }, /Nope is not one of the ORM's entities/],
      [{ entities: [Page], store, scope: 'bad scope' }, /scope/],
      [{ entities: [Page], reloader, scope: 'other' }, /differs from the reloader's scope/],
      [{ entities: [Page], reloader: {} }, /reloader must be what createReloader\(\) returned/],
    ];
    for (const [options, message] of bad) {
      expect(() => watchEntities(orm, options as never)).toThrow(message);
    }
    expect(() => watchEntities(undefined as never, { entities: [Page], store })).toThrow(ApphookOptionError);
  });
});
