/** The harness of the apphooks binding suite: the blog application, page rows per version, reference builds. */
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
export interface Answer {
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
export function naive(build: ApphookBuild, namespace: string): string {
  try {
    return build.reverse(`${namespace}:list`);
  } catch (error) {
    return error instanceof ApphookUrlError ? error.code : String(error);
  }
}

/** One app, reloader and client for one test; everything it opens is pushed to `cleanups`. */
export async function apphookHarness(
  createApp: ApphookSuiteOptions['createApp'],
  cleanups: Array<() => Promise<void> | void>,
) {
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
export function check(
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
