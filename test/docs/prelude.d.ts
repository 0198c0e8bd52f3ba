/**
 * What the code blocks of the docs assume without defining it (docs/index.md says so to readers): the objects of
 * Getting started, and the app's own helpers. Real apphook, MikroORM and framework types, so a block that calls
 * a wrong method, passes a wrong option or a wrong argument fails the docs test (test/docs/code-blocks.test.ts).
 * A block's own declarations and imports shadow these. Global (no top-level import): test/docs only.
 */

/** The MikroORM instance of Getting started (any driver: the stores take `MikroORM` from `@mikro-orm/core`). */
declare const orm: import('@mikro-orm/core').MikroORM;
/** The entity of Getting started. */
declare class Page {
  id: number;
  path: string;
  title: string;
  body: string;
}
/** Another entity of the app whose rows shape the routes. */
declare class Redirect {
  id: number;
  from: string;
  to: string;
}
/** Reads the pages the routes are built from (`orm.em.fork().find(Page, {})`). */
declare function loadPages(signal?: AbortSignal): Promise<Page[]>;
/** The store of Getting started: `sqliteStore(orm)`, `postgresStore(orm)` or `mysqlStore(orm)`. */
declare const store:
  | import('@apphook/sqlite').SqliteStore
  | import('@apphook/postgresql').PostgresStore
  | import('@apphook/mysql').MysqlStore;
/** The Express binding, reloader and app of Getting started. */
declare const binding: import('@apphook/express').ExpressBinding;
declare const reloader: import('@apphook/core').Reloader<
  import('express').Router,
  import('@mikro-orm/core').EntityManager
>;
declare const app: import('express').Express;
declare const server: import('node:http').Server;
/** A Redis client (ioredis) and a notifier built on it, as in Push channels. */
declare const redis: import('ioredis').Redis;
declare const notifier: import('@apphook/redis').RedisNotifier;

/** The app's logger (pino: object first, then the message) and metrics client. */
declare const log: import('pino').Logger;
declare const metrics: { gauge(name: string, value: number): void; timing(name: string, ms: number): void };
/** Your query for the page rows an apphooks build mounts (`{ path, application, namespace }`). */
declare function loadPageRows(
  context: import('@apphook/core').RebuildContext,
): Promise<import('@apphook/apphooks').PageRow[]>;
/** Your query for a route table (name to path), for a process that serves no HTTP. */
declare function loadRouteMap(): Promise<Map<string, string>>;
/** A page the block changes. */
declare const page: Page;
/** An order of a shop, and the shop's mailer (docs/transactions.md). */
declare class Order {
  id: number;
  email: string;
}
declare const order: Order;
declare function confirmation(order: Order): { to: string; subject: string; text: string };
declare const mailer: { send(message: { to: string; subject: string; text: string }): Promise<void> };
