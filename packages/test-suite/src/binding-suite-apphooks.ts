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
import { type ApphookBuild, ApphookUrlError, type PageRow } from '@apphook/apphooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApphookSuiteOptions, apphookHarness, check } from './binding-suite-apphooks-harness.js';
import { keepAliveClient } from './binding-suite-client.js';

export type { ApphookSuiteAppOptions, ApphookSuiteOptions } from './binding-suite-apphooks-harness.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function runApphookSuite(options: ApphookSuiteOptions): void {
  const { name, createApp } = options;
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const setup = () => apphookHarness(createApp, cleanups);

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
