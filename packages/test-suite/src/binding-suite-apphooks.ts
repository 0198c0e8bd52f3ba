/**
 * The apphooks part of the binding suite: every HTTP binding serves an application attached to pages, and
 * its routes and reverse URLs follow attach, move, detach and re-attach under load, each response and each
 * `url()` answer from exactly one version (G4, G6).
 *
 * ## How a package runs it
 *
 * ```ts
 * import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
 * import { expressRouter } from '@apphook/apphooks/express';
 *
 * runApphookSuite({
 *   name: 'express',
 *   async createApp({ rebuildBuild, firstBuildWaitMs }) {
 *     const binding = expressBinding({ firstBuildWaitMs, rebuildRoutes: async (c) => expressRouter(await rebuildBuild(c)) });
 *     // app: GET /static answering 'static' before the binding, the binding at the root; listen on port 0
 *     return { url, binding, close };
 *   },
 * });
 * ```
 *
 * The suite owns the applications, the page rows of each version and the reloader (memory store, push).
 */
import {
  type ApphookBuild,
  type ApphookPageError,
  ApphookUrlError,
  createApphooks,
  defineApp,
  type PageRow,
  urlsOf,
} from '@apphook/apphooks';
import { createReloader, type RebuildContext } from '@apphook/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { BindingSuiteApp } from './binding-suite.js';
import { keepAliveClient } from './binding-suite-client.js';
import { suiteStore } from './binding-suite-store.js';

export interface ApphookSuiteAppOptions {
  /** Await this inside `rebuildRoutes` and return the framework's router made from it (the apphooks glue). */
  rebuildBuild(context: RebuildContext): Promise<ApphookBuild>;
  firstBuildWaitMs: number;
}

export interface ApphookSuiteOptions {
  /** Framework name for test titles. */
  name: string;
  createApp(options: ApphookSuiteAppOptions): Promise<BindingSuiteApp>;
}

/** What every blog route answers: enough to check it against the build of its version. */
interface Answer {
  version: number;
  namespace: string;
  route: string;
  params: Record<string, string>;
  /** `reverse(route, params)` inside the handler. */
  self: string;
  /** `reverse('list')` inside the handler. */
  list: string;
  /** `urlsOf(binding).forRequest(raw).url('<namespace>:list')`. */
  pinned: string;
  /** Negative control: `urlsOf(binding).current()` when the handler answers, the naive way (not the request's build). */
  naive: string;
}

/** The current build's list URL, or the error code when the namespace is detached there. */
function naive(build: ApphookBuild, namespace: string): string {
  try {
    return build.reverse(`${namespace}:list`);
  } catch (error) {
    return error instanceof ApphookUrlError ? error.code : String(error);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function runApphookSuite(options: ApphookSuiteOptions): void {
  const { name, createApp } = options;
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup() {
    let hold: Promise<void> | undefined;
    let entered: (() => void) | undefined;
    let urls: ReturnType<typeof urlsOf> | undefined;
    const answer = async (request: {
      version: number;
      namespace: string;
      route: string;
      params: Record<string, string | number>;
      reverse(route: string, params?: Record<string, string | number>): string;
      raw: unknown;
    }) => {
      const params = Object.fromEntries(Object.entries(request.params).map(([k, v]) => [k, String(v)]));
      const body: Answer = {
        version: request.version,
        namespace: request.namespace,
        route: request.route,
        params,
        self: request.reverse(request.route, params),
        list: request.reverse('list'),
        pinned: urls!.forRequest(request.raw as object).reverse(`${request.namespace}:list`),
        naive: naive(urls!.current(), request.namespace),
      };
      return { json: body };
    };
    const blog = defineApp({
      name: 'blog',
      routes: { list: '/', post: '/:slug', slow: '/slow/:slug' },
      handlers: {
        list: answer,
        post: answer,
        slow: async (request) => {
          const gate = hold;
          if (gate) {
            hold = undefined;
            entered?.();
            await gate;
          }
          return answer(request);
        },
      },
    });
    const apphooks = createApphooks({ apps: [blog], reserved: ['/static'], logger: false });
    const pageErrors: ApphookPageError[] = [];
    apphooks.on('error', (error) => pageErrors.push(error));
    // The rows each version's build read: a build of v reads the rows committed with v (the suite changes
    // rows only between served versions), which is what a store snapshot gives a real build.
    let rows: PageRow[] = [];
    const seen = new Map<number, PageRow[]>();
    const references = new Map<number, ApphookBuild>();
    const app = await createApp({
      firstBuildWaitMs: 5000,
      rebuildBuild: async (context) => {
        seen.set(context.version, rows);
        return apphooks.build(rows, context);
      },
    });
    cleanups.push(() => app.close());
    urls = urlsOf(app.binding);
    const store = suiteStore({ push: true });
    const reloader = createReloader({
      store,
      binding: app.binding,
      logger: false,
      intervalMs: 60_000,
      safetyIntervalMs: 60_000,
    });
    cleanups.push(() => reloader.stop());
    const client = keepAliveClient(app.url, 8);
    cleanups.push(() => client.destroy());
    await reloader.start();
    /** The reference build of a version, made apart from the one served, from the rows that version read. */
    const reference = (version: number): ApphookBuild => {
      let build = references.get(version);
      if (!build) {
        const versionRows = seen.get(version);
        if (!versionRows) throw new Error(`[apphook suite] no build read version ${version}`);
        build = createApphooks({ apps: [blog], logger: false }).build(versionRows, { version });
        references.set(version, build);
      }
      return build;
    };
    return {
      app,
      client,
      reloader,
      urls,
      pageErrors,
      reference,
      /** Commits new rows and waits until this process serves them. */
      async change(next: PageRow[]): Promise<number> {
        rows = next;
        return store.transaction((tx) => reloader.markChanged(tx));
      },
      holdNext() {
        let release!: () => void;
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        const arrived = new Promise<void>((resolve) => {
          entered = resolve;
        });
        hold = released;
        return { release, arrived };
      },
    };
  }

  /** Checks a 200 against the reference build of the version it names; gives a problem or undefined. */
  function check(
    path: string,
    body: string,
    reference: (version: number) => ApphookBuild,
  ): string | undefined {
    const answer = JSON.parse(body) as Answer;
    const build = reference(answer.version);
    const match = build.match(path);
    if (!match) return `${path} answered from version ${answer.version}, which does not route it`;
    const want = {
      namespace: match.route.namespace,
      route: match.route.name,
      self: path,
      list: build.url(`${match.route.namespace}:list`),
      pinned: build.url(`${match.route.namespace}:list`),
    };
    const got = {
      namespace: answer.namespace,
      route: answer.route,
      self: answer.self,
      list: answer.list,
      pinned: answer.pinned,
    };
    return JSON.stringify(got) === JSON.stringify(want)
      ? undefined
      : `${path} at version ${answer.version}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
  }

  describe(`${name} binding (binding suite: apphooks)`, () => {
    it('moves routes and reverse URLs together through attach, move, detach and re-attach under load', async () => {
      const h = await setup();
      const phases: PageRow[][] = [
        [{ path: '/blog', application: 'blog', namespace: 'news' }],
        [{ path: '/journal', application: 'blog', namespace: 'news' }],
        [],
        [
          { path: '/press', application: 'blog', namespace: 'news' },
          { path: '/updates', application: 'blog', namespace: 'updates' },
        ],
      ];
      const paths = ['/blog', '/blog/hello', '/journal/hello', '/press/hello', '/updates', '/updates/hello'];
      const load = keepAliveClient(h.app.url, 6);
      cleanups.push(() => load.destroy());
      let running = true;
      const statuses = new Map<number, number>();
      const problems: string[] = [];
      const worker = async (offset: number) => {
        for (let i = offset; running; i++) {
          const path = paths[i % paths.length]!;
          try {
            const { status, body } = await load.get(path);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status === 200) {
              const problem = check(path, body, h.reference);
              if (problem) problems.push(problem);
            }
          } catch (error) {
            problems.push(`${path}: ${String(error)}`);
          }
        }
      };
      // Reverse URLs outside any request (a template on a static route, a job): each answer matches its version.
      let samples = 0;
      const sampler = async () => {
        while (running) {
          const build = h.urls.current();
          const reference = h.reference(build.version);
          for (const namespace of ['news', 'updates']) {
            const attempt = (b: ApphookBuild) => {
              try {
                return b.reverse(`${namespace}:post`, { slug: 'x' });
              } catch (error) {
                return error instanceof ApphookUrlError ? error.code : String(error);
              }
            };
            const got = attempt(build);
            const want = attempt(reference);
            if (got !== want) problems.push(`url() at version ${build.version}: ${got}, want ${want}`);
          }
          samples++;
          await sleep(1);
        }
      };
      const running$ = [worker(0), worker(1), worker(2), worker(3), sampler()];
      try {
        for (let cycle = 0; cycle < 3; cycle++) {
          for (const phase of phases) {
            const version = await h.change(phase);
            const served = h.urls.current();
            expect(served.version).toBe(version);
            for (const page of phase) {
              const path = served.reverse(`${page.namespace}:post`, { slug: 'hello' });
              const result = await h.client.get(path);
              expect(result.status, path).toBe(200);
              expect(JSON.parse(result.body)).toMatchObject({ version, self: path });
            }
            for (const gone of ['/blog/hello', '/journal/hello', '/press/hello'].filter(
              (p) => !phase.some((page) => p.startsWith(`${page.path}/`)),
            )) {
              expect((await h.client.get(gone)).status, `${gone} at version ${version}`).toBe(404);
            }
            await sleep(20);
          }
        }
      } finally {
        running = false;
        await Promise.all(running$);
      }
      expect(problems).toEqual([]);
      expect([...statuses.keys()].filter((s) => s !== 200 && s !== 404)).toEqual([]);
      expect(statuses.get(200)).toBeGreaterThan(10);
      expect(samples).toBeGreaterThan(10);
      expect(load.closed).toBe(0);
      expect(h.pageErrors).toEqual([]);
    });

    it('finishes a request in flight across a swap on its router, and its url() answers stay on its version', async () => {
      const h = await setup();
      const before = await h.change([{ path: '/blog', application: 'blog', namespace: 'news' }]);
      const { release, arrived } = h.holdNext();
      const slow = h.client.get('/blog/slow/first');
      await arrived;
      const after = await h.change([{ path: '/journal', application: 'blog', namespace: 'news' }]);
      expect(h.urls.url('news:list')).toBe('/journal');
      const fresh = await h.client.get('/journal/slow/second');
      expect(JSON.parse(fresh.body)).toMatchObject({
        version: after,
        self: '/journal/slow/second',
        list: '/journal',
      });
      release();
      const finished = await slow;
      expect(finished.status).toBe(200);
      expect(JSON.parse(finished.body)).toEqual({
        version: before,
        namespace: 'news',
        route: 'slow',
        params: { slug: 'first' },
        self: '/blog/slow/first',
        list: '/blog',
        pinned: '/blog',
        // The naive way, reading what serves now instead of the request's build, links to the new version:
        // the checks above would catch a binding or helper that did that.
        naive: '/journal',
      });
    });

    it('decodes parameters the reverse URL encoded back to their value', async () => {
      const h = await setup();
      await h.change([{ path: '/blog', application: 'blog', namespace: 'news' }]);
      for (const slug of ['a b', 'ü-ö', 'x?y=1&z', '50%', 'a/b', "it's"]) {
        const path = h.urls.url('news:post', { slug });
        const result = await h.client.get(path);
        expect(result.status, path).toBe(200);
        expect(JSON.parse(result.body), path).toMatchObject({ params: { slug }, self: path });
      }
    });

    it('skips a page with an unregistered application or a static-route collision, and serves the rest', async () => {
      const h = await setup();
      const failures: unknown[] = [];
      h.reloader.on('error', (event) => failures.push(event));
      const version = await h.change([
        { path: '/forum', application: 'forum' },
        { path: '/static', application: 'blog', namespace: 'static' },
        { path: '/blog', application: 'blog', namespace: 'news' },
      ]);
      expect(h.reloader.version).toBe(version);
      expect(h.pageErrors.map((e) => [e.code, e.problem])).toEqual([
        ['E_PAGE', 'unknown-application'],
        ['E_PAGE', 'collision'],
      ]);
      expect((await h.client.get('/blog/hello')).status).toBe(200);
      expect(await h.client.get('/static')).toMatchObject({ status: 200, body: 'static' });
      expect((await h.client.get('/forum')).status).toBe(404);
      expect(failures).toEqual([]);
    });
  });
}
