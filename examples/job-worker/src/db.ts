import { ApphookToken, type SqliteStore, sqliteStore } from '@apphook/sqlite';
import { EntitySchema } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/sqlite';

/** A CMS page. `key` is what code links to; `path` is what editors change. */
export interface Page {
  id: number;
  key: string;
  path: string;
  title: string;
}

export const Page = new EntitySchema<Page>({
  name: 'Page',
  tableName: 'job_worker_pages',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    key: { type: 'string', length: 64, unique: true },
    path: { type: 'string', length: 191, unique: true },
    title: { type: 'string', length: 255 },
  },
});

/** The scope both processes use: one token row for the page tree. */
export const SCOPE = 'pages';

export interface Database {
  orm: MikroORM;
  store: SqliteStore;
  close(): Promise<void>;
}

/**
 * Opens the shared SQLite file. Every process opens its own ORM and store: the store is created before any
 * transaction starts, because it registers the after-commit subscriber on this ORM.
 */
export async function openDatabase(file: string): Promise<Database> {
  const orm = await MikroORM.init({ dbName: file, entities: [Page, ApphookToken], debug: false });
  const store = sqliteStore(orm);
  return {
    orm,
    store,
    async close() {
      await store.close();
      await orm.close(true);
    },
  };
}

/** First run only: creates both tables (a real app runs its migrations) and the pages the story starts with. */
export async function createSchema(db: Database): Promise<void> {
  await db.store.ensureSchema(); // WAL, so the worker's reads never wait for the writer
  await db.orm.schema.update();
  const em = db.orm.em.fork();
  for (const [key, path, title] of [
    ['pricing', '/pricing', 'Pricing'],
    ['changelog', '/changelog', 'Changelog'],
    ['careers', '/careers', 'Careers'],
  ] as const) {
    em.create(Page, { key, path, title });
  }
  await em.flush();
}
