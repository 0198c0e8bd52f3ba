/**
 * The in-process apps of the microbenchmark: per framework, the same 200 routes served bare (the framework's own
 * router, no apphook) or through the apphook binding in one mode, each as the Node request listener
 * `(req, res) => void` its HTTP server would call, so one driver (node-driver.ts) sends every request alike.
 */
import type { RequestListener } from 'node:http';
import { createReloader, memoryStore, type ReloaderMode, type TokenStore } from '@apphook/core';
import type { DbConfig } from '@apphook/example-pages-site/db';

export type MicroBinding = 'express' | 'fastify' | 'koa' | 'hono' | 'nestjs';
/**
 * `harness`: a listener that only ends the response, so what the driver itself costs is on the record.
 * `request-postgres` and `request-sqlite`: request mode reading the version from a real store, one read per
 * request (requests come one at a time here, so none shares a read: the worst case of G7's shared read).
 * `push-handler` (Hono only): push mode served by `binding.handler` as the whole app, no outer Hono app.
 * `push-no-ctx` (Hono only): push mode through the middleware with `forwardExecutionCtx: false`.
 * `push-light` (Fastify only): push mode with `routing: 'light'` (no fresh instance per build, no hand-over).
 */
export type MicroVariant =
  | 'harness'
  | 'bare'
  | ReloaderMode
  | 'request-postgres'
  | 'request-sqlite'
  | 'push-handler'
  | 'push-no-ctx'
  | 'push-light';

export interface MicroApp {
  listener: RequestListener;
  close(): Promise<void>;
}

const body = (i: number) => `<!doctype html><title>Page ${i}</title><h1>Page ${i}</h1>`;

/** Builds the app of `binding` in `variant` over `routes` routes `/page-0` .. `/page-{routes-1}`. */
export async function buildApp(
  binding: MicroBinding,
  variant: MicroVariant,
  routes: number,
  databases: Partial<Record<'postgres' | 'sqlite', DbConfig>> = {},
): Promise<MicroApp> {
  if (variant === 'harness') {
    return {
      listener: (_req, res) => {
        res.end('ok');
      },
      close: async () => {},
    };
  }
  const paths = Array.from({ length: routes }, (_, i) => i);
  let stopReloader = async () => {};
  /**
   * Starts a reloader for `b` in the variant's mode, on an in-memory store (no I/O: push and interval never
   * read on the hot path), or for the real-store variants on that database's store.
   */
  const reload = async (b: Parameters<typeof createReloader>[0]['binding']) => {
    let store: TokenStore<unknown> = memoryStore({ logger: false });
    let closeDb = async () => {};
    const kind =
      variant === 'request-postgres' ? 'postgres' : variant === 'request-sqlite' ? 'sqlite' : undefined;
    if (kind) {
      const config = databases[kind];
      if (!config) throw new Error(`${variant}: no ${kind} database given`);
      const { openDatabase } = await import('@apphook/example-pages-site/db');
      const db = await openDatabase(config);
      store = db.store as TokenStore<unknown>;
      closeDb = () => db.close();
    }
    const mode: ReloaderMode = kind
      ? 'request'
      : variant === 'push-handler' || variant === 'push-no-ctx' || variant === 'push-light'
        ? 'push'
        : (variant as ReloaderMode);
    const reloader = createReloader({ store, binding: b, mode, scope: 'micro', logger: false });
    await reloader.start();
    stopReloader = async () => {
      await reloader.stop();
      await closeDb();
    };
  };

  if (binding === 'express' || binding === 'nestjs') {
    const { default: express } = await import('express');
    const router = () => {
      const r = express.Router();
      for (const i of paths) {
        const html = body(i);
        r.get(`/page-${i}`, (_req, res) => {
          res.type('html').send(html);
        });
      }
      return r;
    };
    if (binding === 'express') {
      const app = express();
      app.disable('x-powered-by');
      if (variant === 'bare') app.use(router());
      else {
        const { expressBinding } = await import('@apphook/express');
        const b = expressBinding({ rebuildRoutes: () => router() });
        app.use(b.middleware);
        await reload(b);
      }
      return { listener: app as unknown as RequestListener, close: () => stopReloader() };
    }
    if (variant !== 'bare' && variant !== 'push' && variant !== 'interval' && variant !== 'request')
      throw new Error(`nestjs: no ${variant} variant (the real-store variants are Express only)`);
    return nestApp(variant, router);
  }

  if (binding === 'koa') {
    const { default: Koa } = await import('koa');
    const { Router } = await import('@koa/router');
    const router = () => {
      const r = new Router();
      for (const i of paths) {
        const html = body(i);
        r.get(`/page-${i}`, (ctx) => {
          ctx.type = 'html';
          ctx.body = html;
        });
      }
      return r;
    };
    const app = new Koa();
    if (variant === 'bare') app.use(router().routes());
    else {
      const { koaBinding } = await import('@apphook/koa');
      const b = koaBinding({ rebuildRoutes: () => router() });
      app.use(b.middleware);
      await reload(b);
    }
    return { listener: app.callback() as RequestListener, close: () => stopReloader() };
  }

  if (binding === 'fastify') {
    const { default: Fastify } = await import('fastify');
    type Instance = import('fastify').FastifyInstance;
    const plugin = async (app: Instance) => {
      for (const i of paths) {
        const html = body(i);
        app.get(`/page-${i}`, async (_request, reply) => reply.type('text/html').send(html));
      }
    };
    const app = Fastify();
    if (variant === 'bare') await app.register(plugin);
    else {
      const { fastifyBinding } = await import('@apphook/fastify');
      const b = fastifyBinding({
        rebuildRoutes: () => plugin,
        ...(variant === 'push-light' ? { routing: 'light' as const } : {}),
      });
      await app.register(b.plugin);
      await reload(b);
    }
    await app.ready();
    // The handler Fastify gave its HTTP server (its routing wrapper), as a request from a socket reaches it.
    const listener = app.server.listeners('request')[0] as RequestListener;
    return {
      listener,
      async close() {
        await stopReloader();
        await app.close();
      },
    };
  }

  const { Hono } = await import('hono');
  const { getRequestListener } = await import('@hono/node-server');
  const pages = () => {
    const h = new Hono();
    for (const i of paths) {
      const html = body(i);
      h.get(`/page-${i}`, (c) => c.html(html));
    }
    return h;
  };
  const app = new Hono();
  let fetch = app.fetch;
  if (variant === 'bare') app.route('/', pages());
  else {
    const { honoBinding } = await import('@apphook/hono');
    const b = honoBinding({
      rebuildRoutes: () => pages(),
      ...(variant === 'push-no-ctx' ? { forwardExecutionCtx: false } : {}),
    });
    if (variant === 'push-handler') fetch = b.handler;
    else app.use(b.middleware);
    await reload(b);
  }
  // What `serve({ fetch })` runs per request: @hono/node-server's Node adapter.
  return { listener: getRequestListener(fetch) as RequestListener, close: () => stopReloader() };
}

/**
 * NestJS on Express: the bare variant mounts its router where ApphookModule mounts the binding (a module's
 * `onModuleInit`, after Nest's body parsers and controllers, before its not-found handler), so the two differ
 * by apphook only.
 */
async function nestApp(
  variant: 'bare' | ReloaderMode,
  router: () => import('express').Router,
): Promise<MicroApp> {
  await import('reflect-metadata');
  const { Inject, Module } = await import('@nestjs/common');
  const { HttpAdapterHost, NestFactory } = await import('@nestjs/core');
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  const { ApphookModule } = await import('@apphook/nestjs');
  class BareRoutes {
    constructor(private readonly host: InstanceType<typeof HttpAdapterHost>) {}
    onModuleInit() {
      this.host.httpAdapter.use(router());
    }
  }
  Inject(HttpAdapterHost)(BareRoutes, undefined, 0);
  const imports =
    variant === 'bare'
      ? []
      : [
          ApphookModule.forRoot({
            store: memoryStore({ logger: false }),
            rebuildRoutes: () => router(),
            mode: variant,
            logger: false,
          }),
        ];
  class AppModule {}
  Module({ imports, providers: variant === 'bare' ? [BareRoutes] : [] })(AppModule);
  const nest = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  await nest.init();
  return {
    listener: nest.getHttpAdapter().getInstance() as RequestListener,
    close: () => nest.close(),
  };
}
