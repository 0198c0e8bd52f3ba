/**
 * The consumer app's database: one Page entity and the apphook token, on an SQLite file shared by the
 * server and the writer process. Written as a user would, against the published packages only.
 */
import { createReloader, type Reloader } from '@apphook/core';
import { ApphookToken, sqliteStore } from '@apphook/sqlite';
import { EntitySchema } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/sqlite';

export interface Page {
  id: number;
  path: string;
  body: string;
}

export const PageSchema = new EntitySchema<Page>({
  name: 'Page',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    path: { type: 'string', unique: true },
    body: { type: 'text' },
  },
});

export interface Db {
  orm: MikroORM;
  store: ReturnType<typeof sqliteStore>;
}

export async function openDb(file: string): Promise<Db> {
  const orm = await MikroORM.init({ dbName: file, entities: [PageSchema, ApphookToken] });
  // The store before any transaction: it registers the after-commit subscriber.
  const store = sqliteStore(orm);
  return { orm, store };
}

/** Shutdown order: the reloader (timers, listeners), then the store's read connection, then the ORM. */
export async function closeDb(db: Db, reloader?: Reloader): Promise<void> {
  await reloader?.stop();
  await db.store.close();
  await db.orm.close(true);
}

export { createReloader };
