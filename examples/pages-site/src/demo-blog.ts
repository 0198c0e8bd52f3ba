/**
 * The demo's blog parts: the seed that attaches the blog to a page, and a job worker (no HTTP server) that
 * builds links to the blog with `url()`, kept current by its own reloader like every site worker.
 */
import { type ApphookBuild, urlsOf } from '@apphook/apphooks';
import { callbackBinding, createReloader, type ReloaderMode } from '@apphook/core';
import { apphooks, type blog } from './blog-app.js';
import { type Database, type DbConfig, openDatabase, readSnapshot } from './db.js';
import { attachApp, ensureAppsTable, readPageApps } from './page-apps.js';

/** Adds the page `/news` and attaches the blog to it under the namespace `news`. */
export async function seedBlog(database: Database): Promise<void> {
  await ensureAppsTable(database);
  await database.orm.em.fork().transactional(async (em) => {
    em.create(database.Page, { path: '/news', title: 'News', body: '<p>News</p>' });
    await em.flush();
    await attachApp(database, em, '/news', 'blog', 'news');
  });
}

export interface LinkWorker {
  /** The link a job (an e-mail, a feed) would use now, and the version it comes from. */
  link(): { version: number; url: string };
  waitForVersion(version: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A job worker: a reloader with `callbackBinding`, whose build is the blog's reverse URLs. */
export async function startLinkWorker(
  config: DbConfig,
  options: { scope: string; mode: ReloaderMode; intervalMs: number },
): Promise<LinkWorker> {
  const db = await openDatabase(config);
  const binding = callbackBinding({
    rebuildRoutes: async (context): Promise<ApphookBuild<readonly [typeof blog]>> => {
      const { extra } = await readSnapshot(db, options.scope, (tx) => readPageApps(db, tx));
      return apphooks.build(extra ?? [], context);
    },
  });
  const reloader = createReloader({ store: db.store, binding, ...options, logger: false });
  await reloader.start();
  const urls = urlsOf<readonly [typeof blog]>(binding);
  return {
    link() {
      // One build per job: the link and its version agree.
      const build = urls.current();
      return { version: build.version, url: build.url('news:post', { slug: 'hello-world' }) };
    },
    async waitForVersion(version, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while ((reloader.version ?? -1) < version) {
        if (Date.now() > deadline) throw new Error(`the job worker did not reach version ${version}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      await reloader.stop();
      await db.close();
    },
  };
}
