/**
 * The binding suite: every HTTP binding (express, koa, hono, fastify, nestjs) runs it against a real server
 * on an ephemeral port. It checks G5, G6 and G7 over real HTTP with keep-alive connections.
 *
 * ## How a package runs it
 *
 * ```ts
 * import { runBindingSuite } from '@apphook/test-suite/binding';
 *
 * runBindingSuite({
 *   name: 'express',
 *   async createApp({ rebuildTable, firstBuildWaitMs }) {
 *     const binding = expressBinding({
 *       firstBuildWaitMs,
 *       rebuildRoutes: async (context) => tableToRouter(await rebuildTable(context)),
 *     });
 *     // ... build the app (see "The app an adapter builds"), listen on 127.0.0.1 port 0
 *     return { url: 'http://127.0.0.1:12345', binding, close: () => closeServer() };
 *   },
 * });
 * ```
 *
 * ## The app an adapter builds (the API is stable; other packages depend on it)
 *
 * 1. An outer middleware, outside the rebuilt part, that sets the response header `x-outer: yes`
 *    ({@link OUTER_HEADER}) on EVERY response: static, dynamic, 404 and the binding's 503.
 * 2. `GET /static` answering `200` with the body `static`, registered before the binding.
 * 3. The binding's delegating handler / middleware, mounted at the root.
 * 4. `GET /after` answering `200` with the body `after`, registered after the binding: an unmatched dynamic
 *    path must fall through to it (`next()`). Where a static route would always beat the binding's wildcard
 *    (Fastify, Nest on Fastify), answer `/after` from the app's not-found handling instead, which is where an
 *    unmatched dynamic path falls through there; `ordered: false` skips the takeover test for adapters that
 *    cannot do even that.
 * 5. Anything else: the framework's own 404 (with `x-outer: yes`), never a response the binding made up.
 *
 * The dynamic part comes from `rebuildTable(context)`, which the adapter's `rebuildRoutes` awaits and turns
 * into a fresh router: one `GET` route per key of the {@link RouteTable} (exact path, no parameters) that
 * first awaits `spec.hold?.()` and then answers `200`, `text/plain`, with `spec.body`. Await the hold in a
 * layer of the rebuilt router that runs before the route handler where the framework allows it (a
 * router-level middleware, a route hook), so a binding that mutated the live router would be caught. If
 * `rebuildTable` throws, `rebuildRoutes` must throw. The suite decides what each build returns, makes builds
 * slow or failing, and creates the reloader itself (memory store, modes `push` and `request`), so
 * the adapter never needs to know the reloader mode.
 *
 * `createApp` is called once per test, and `close()` after it; it must stop the server (the suite has
 * already destroyed its own keep-alive sockets).
 *
 * Also exported for a package's own tests: `keepAliveClient(url)` (counts sockets the server drops) and
 * `suiteStore({ push })` (a memory store whose reads can be counted and held).
 */
import {
  type Binding,
  createReloader,
  type MemoryTransaction,
  type RebuildContext,
  type Reloader,
  type ReloaderMode,
} from '@apphook/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpResult, type KeepAliveClient, keepAliveClient } from './binding-suite-client.js';
import { type SuiteStore, suiteStore } from './binding-suite-store.js';

export { type HttpResult, type KeepAliveClient, keepAliveClient } from './binding-suite-client.js';
export { type SuiteStore, suiteStore } from './binding-suite-store.js';

/** What one dynamic `GET` route answers. */
export interface RouteSpec {
  /** Sent with status 200, `text/plain`. */
  body: string;
  /** When set, the handler awaits it before answering: this is how the suite makes a request slow. */
  hold?: () => Promise<void>;
}

/** The dynamic part of one build: exact path (starting with `/`) to what `GET path` answers. */
export type RouteTable = Record<string, RouteSpec>;

export interface BindingSuiteAppOptions {
  /** Await this inside the binding's `rebuildRoutes` and build a fresh router from the table it returns. */
  rebuildTable(context: RebuildContext): Promise<RouteTable>;
  /** Pass to the binding's first-build wait option (`firstBuildWaitMs`). */
  firstBuildWaitMs: number;
}

export interface BindingSuiteApp {
  /** Base URL of the listening server, e.g. `http://127.0.0.1:40123`, no trailing slash. */
  url: string;
  /** The binding the app delegates to; the suite passes it to `createReloader`. */
  binding: Binding<unknown>;
  /** Stops the server. */
  close(): Promise<void>;
}

export interface BindingSuiteOptions {
  /** Framework name for test titles, e.g. `'express'`. */
  name: string;
  createApp(options: BindingSuiteAppOptions): Promise<BindingSuiteApp>;
  /**
   * The binding sits at one place in an ordered middleware chain (Express, Koa, Hono), so a dynamic route
   * shadows `/after`, which is registered later, for as long as a build has it. Set `false` where routes are
   * chosen by specificity and a static `/after` always wins (Fastify's wildcard).
   * @default true
   */
  ordered?: boolean;
}

/** The header the adapter's outer middleware sets on every response. */
export const OUTER_HEADER = 'x-outer';

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition`; between polls it sleeps, or runs `step` when given (e.g. sends a request). */
async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
  step: () => Promise<void> = () => sleep(5),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`[binding suite] timed out waiting for ${what}`);
    await step();
  }
}

/** A table in which every path answers `<label>:<path>`. */
function table(label: string, ...paths: string[]): RouteTable {
  return Object.fromEntries(paths.map((path) => [path, { body: `${label}:${path}` }]));
}

interface BuildControl {
  /** What the next build returns; a function may be slow or throw. */
  plan: (context: RebuildContext) => RouteTable | Promise<RouteTable>;
  /** Builds started so far. */
  builds: number;
}

interface Harness extends BuildControl {
  app: BindingSuiteApp;
  store: SuiteStore;
  reloader: Reloader<unknown, MemoryTransaction>;
  client: KeepAliveClient;
  /** Commits a bump through this process's reloader and waits until the new build serves (or failed). */
  change(): Promise<number>;
}

export function runBindingSuite(options: BindingSuiteOptions): void {
  const { name, createApp, ordered = true } = options;
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(
    config: { mode?: ReloaderMode; push?: boolean; firstBuildWaitMs?: number; start?: boolean } = {},
  ): Promise<Harness> {
    const mode = config.mode ?? 'push';
    const store = suiteStore({ push: config.push ?? mode === 'push' });
    const control: BuildControl = { plan: () => table('v0', '/a'), builds: 0 };
    const app = await createApp({
      firstBuildWaitMs: config.firstBuildWaitMs ?? 5000,
      rebuildTable: async (context) => {
        control.builds++;
        return control.plan(context);
      },
    });
    cleanups.push(() => app.close());
    const reloader = createReloader({
      store,
      binding: app.binding,
      mode,
      logger: false,
      intervalMs: 60_000,
      safetyIntervalMs: 60_000,
      retryBaseMs: 20,
      retryMaxMs: 40,
    });
    cleanups.push(() => reloader.stop());
    const client = keepAliveClient(app.url);
    cleanups.push(() => client.destroy());
    const harness: Harness = Object.assign(control, {
      app,
      store,
      reloader,
      client,
      change: () => store.transaction((tx) => reloader.markChanged(tx)),
    });
    if (config.start ?? true) await reloader.start();
    return harness;
  }

  describe(`${name} binding (binding suite)`, () => {
    it('serves the current build beside static routes, and unmatched paths fall through to the app', async () => {
      const { client } = await setup();
      const dynamic = await client.get('/a');
      expect(dynamic).toMatchObject({ status: 200, body: 'v0:/a' });
      expect(dynamic.headers[OUTER_HEADER]).toBe('yes');
      const staticRoute = await client.get('/static');
      expect(staticRoute).toMatchObject({ status: 200, body: 'static' });
      expect(staticRoute.headers[OUTER_HEADER]).toBe('yes');
      // Fall-through: the binding calls next() for a path its router does not match.
      expect(await client.get('/after')).toMatchObject({ status: 200, body: 'after' });
      const missing = await client.get('/missing');
      expect(missing.status).toBe(404);
      expect(missing.headers[OUTER_HEADER]).toBe('yes');
    });

    it('swaps the dynamic routes and never touches static routes or the outer middleware', async () => {
      const h = await setup();
      h.plan = () => table('v1', '/b');
      await h.change();
      expect((await h.client.get('/a')).status).toBe(404);
      expect(await h.client.get('/b')).toMatchObject({ status: 200, body: 'v1:/b' });
      const staticRoute = await h.client.get('/static');
      expect(staticRoute).toMatchObject({ status: 200, body: 'static' });
      expect(staticRoute.headers[OUTER_HEADER]).toBe('yes');
      expect(await h.client.get('/after')).toMatchObject({ status: 200, body: 'after' });
      if (ordered) {
        // A dynamic route may take a path that used to fall through, and give it back on the next swap.
        h.plan = () => table('v2', '/b', '/after');
        await h.change();
        expect(await h.client.get('/after')).toMatchObject({ status: 200, body: 'v2:/after' });
        h.plan = () => table('v3', '/b');
        await h.change();
        expect(await h.client.get('/after')).toMatchObject({ status: 200, body: 'after' });
      }
    });

    it('finishes a request in flight on the router it started with; the next request sees the new one', async () => {
      const h = await setup();
      const entered = deferred();
      const release = deferred();
      h.plan = () => ({
        '/slow': {
          body: 'v1:/slow',
          hold: () => {
            entered.resolve();
            return release.promise;
          },
        },
      });
      await h.change();
      const slow = h.client.get('/slow');
      await entered.promise;
      h.plan = () => table('v2', '/slow');
      await h.change();
      expect(await h.client.get('/slow')).toMatchObject({ status: 200, body: 'v2:/slow' });
      release.resolve();
      const finished = await slow;
      expect(finished).toMatchObject({ status: 200, body: 'v1:/slow' });
      expect(finished.headers[OUTER_HEADER]).toBe('yes');
    });

    it('in request mode reads the store before routing, one coalesced read for concurrent requests (G7)', async () => {
      const h = await setup({ mode: 'request' });
      // Another process commits; nothing pushes. The very next request must see the new routes.
      h.plan = () => table('v1', '/b');
      await h.store.commitElsewhere();
      expect(await h.client.get('/b')).toMatchObject({ status: 200, body: 'v1:/b' });
      expect((await h.client.get('/a')).status).toBe(404);

      const gate = deferred();
      h.store.gate = gate.promise;
      const readsBefore = h.store.reads;
      const checksBefore = h.reloader.stats().checks;
      const wide = keepAliveClient(h.app.url, 20);
      cleanups.push(() => wide.destroy());
      const requests = Array.from({ length: 20 }, () => wide.get('/b'));
      // Every request has reached the binding and asked for a check...
      await until(() => h.reloader.stats().checks >= checksBefore + 20, '20 checks');
      // ...and they share the single read in flight.
      expect(h.store.reads - readsBefore).toBe(1);
      h.store.gate = undefined;
      gate.resolve();
      const results = await Promise.all(requests);
      expect(results.every((r) => r.status === 200 && r.body === 'v1:/b')).toBe(true);
      // At most the read in flight plus one queued behind it.
      expect(h.store.reads - readsBefore).toBeLessThanOrEqual(2);
    });

    it('in push mode routes without reading the store (G7)', async () => {
      const h = await setup({ mode: 'push' });
      const reads = h.store.reads;
      const results = await Promise.all(Array.from({ length: 20 }, () => h.client.get('/a')));
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(h.store.reads).toBe(reads);
    });

    it('holds a request that arrives before the first build until the build lands', async () => {
      const h = await setup({ start: false, firstBuildWaitMs: 10_000 });
      const firstBuild = deferred();
      h.plan = async () => {
        await firstBuild.promise;
        return table('v0', '/a');
      };
      const starting = h.reloader.start();
      await until(() => h.builds === 1, 'the first build to start');
      const early = h.client.get('/a');
      // Static routes do not wait for the first build.
      expect(await h.client.get('/static')).toMatchObject({ status: 200, body: 'static' });
      await sleep(50);
      firstBuild.resolve();
      await starting;
      expect(await early).toMatchObject({ status: 200, body: 'v0:/a' });
    });

    it('answers 503 with Retry-After when the first build does not land within firstBuildWaitMs', async () => {
      const waitMs = 300;
      const h = await setup({ start: false, firstBuildWaitMs: waitMs });
      const firstBuild = deferred();
      h.plan = async () => {
        await firstBuild.promise;
        return table('v0', '/a');
      };
      const starting = h.reloader.start();
      await until(() => h.builds === 1, 'the first build to start');
      const startedAt = performance.now();
      const early = await h.client.get('/a');
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(waitMs * 0.8);
      expect(early.status).toBe(503);
      expect(early.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      expect(early.headers[OUTER_HEADER]).toBe('yes');
      expect(await h.client.get('/static')).toMatchObject({ status: 200, body: 'static' });
      firstBuild.resolve();
      await starting;
      expect(await h.client.get('/a')).toMatchObject({ status: 200, body: 'v0:/a' });
    });

    it('keeps the previous routes serving with zero 5xx while rebuilds throw (G5)', async () => {
      const h = await setup();
      const failures: unknown[] = [];
      h.reloader.on('error', (event) => failures.push(event));
      h.plan = () => {
        throw new Error('database unavailable');
      };
      await h.change();
      await until(() => failures.length >= 1, 'a rebuild error event');
      const during: HttpResult[] = [];
      // Requests keep coming through several failed retries.
      await until(
        () => failures.length >= 4,
        'four failed rebuilds',
        10_000,
        async () => {
          during.push(await h.client.get('/a'));
        },
      );
      expect(during.length).toBeGreaterThan(0);
      expect(during.every((r) => r.status === 200 && r.body === 'v0:/a')).toBe(true);
      expect((await h.client.get('/static')).status).toBe(200);
      // The next retry that succeeds swaps in the new routes.
      const reloaded = deferred();
      h.reloader.on('reload', () => reloaded.resolve());
      h.plan = () => table('v1', '/b');
      await reloaded.promise;
      expect(await h.client.get('/b')).toMatchObject({ status: 200, body: 'v1:/b' });
      expect((await h.client.get('/a')).status).toBe(404);
    });

    it('serves steady keep-alive load through 100 swaps: no 5xx, no dropped connection, exact routes', async () => {
      const h = await setup();
      const load = keepAliveClient(h.app.url, 6);
      cleanups.push(() => load.destroy());
      h.plan = (context) => ({
        '/stable': { body: 'stable' },
        [`/r/${context.version}`]: { body: `route ${context.version}` },
      });
      await h.change();
      let running = true;
      const statuses = new Map<number, number>();
      const errors: unknown[] = [];
      const worker = async (path: string) => {
        while (running) {
          try {
            const { status } = await load.get(path);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          } catch (error) {
            errors.push(error);
          }
        }
      };
      const workers = [
        worker('/stable'),
        worker('/stable'),
        worker('/stable'),
        worker('/static'),
        worker('/after'),
        worker('/stable'),
      ];
      const mismatches: string[] = [];
      try {
        for (let i = 0; i < 100; i++) {
          const version = await h.change();
          const added = await h.client.get(`/r/${version}`);
          if (added.status !== 200 || added.body !== `route ${version}`) {
            mismatches.push(`/r/${version} after swap ${i}: ${added.status} ${added.body}`);
          }
          const removed = await h.client.get(`/r/${version - 1}`);
          if (removed.status !== 404) mismatches.push(`/r/${version - 1} after swap ${i}: ${removed.status}`);
        }
      } finally {
        running = false;
        await Promise.all(workers);
      }
      expect(h.reloader.version).toBeGreaterThanOrEqual(101);
      expect(errors).toEqual([]);
      expect(mismatches).toEqual([]);
      expect([...statuses.keys()]).toEqual([200]);
      expect(statuses.get(200)).toBeGreaterThan(100);
      // Keep-alive connections were reused, never closed by the server.
      expect(load.closed).toBe(0);
      expect(h.client.closed).toBe(0);
      expect(load.opened).toBeLessThanOrEqual(6);
    });
  });
}
