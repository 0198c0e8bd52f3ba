/**
 * The in-process apps of the microbenchmark: per framework, the same 200 routes served bare (the framework's own
 * router, no apphook) or through the apphook binding in one mode, each with a function that sends one request
 * in-process (no socket) and resolves when its response ended.
 */
import { createReloader, memoryStore, type ReloaderMode } from '@apphook/core';
import inject from 'light-my-request';

export type MicroBinding = 'express' | 'fastify' | 'koa' | 'hono' | 'nestjs';
export type MicroVariant = 'bare' | ReloaderMode;

export interface MicroApp {
  /** One GET of `path`, in-process; resolves with the status code and body. */
  request(path: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

const body = (i: number) => `<!doctype html><title>Page ${i}</title><h1>Page ${i}</h1>`;

/** Builds the app of `binding` in `variant` over `routes` routes `/page-0` .. `/page-{routes-1}`. */
export async function buildApp(
  binding: MicroBinding,
  variant: MicroVariant,
  routes: number,
): Promise<MicroApp> {
  const paths = Array.from({ length: routes }, (_, i) => i);
  let stopReloader = async () => {};
  /** Starts a reloader for `b` in the variant's mode, on an in-memory store (no database: this is the hot path). */
  const reload = async (b: Parameters<typeof createReloader>[0]['binding']) => {
    const reloader = createReloader({
      store: memoryStore({ logger: false }),
      binding: b,
      mode: variant as ReloaderMode,
      logger: false,
    });
    await reloader.start();
    stopReloader = () => reloader.stop();
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
      return viaInject(app, () => stopReloader());
    }
    await import('reflect-metadata');
    const { Module } = await import('@nestjs/common');
    const { NestFactory } = await import('@nestjs/core');
    const { ExpressAdapter } = await import('@nestjs/platform-express');
    const { ApphookModule } = await import('@apphook/nestjs');
    const imports =
      variant === 'bare'
        ? []
        : [
            ApphookModule.forRoot({
              store: memoryStore({ logger: false }),
              rebuildRoutes: () => router(),
              mode: variant,
            }),
          ];
    class AppModule {}
    Module({ imports })(AppModule);
    const nest = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
    if (variant === 'bare') nest.use(router());
    await nest.init();
    return viaInject(nest.getHttpAdapter().getInstance(), () => nest.close());
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
    return viaInject(app.callback(), () => stopReloader());
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
      const b = fastifyBinding({ rebuildRoutes: () => plugin });
      await app.register(b.plugin);
      await reload(b);
    }
    await app.ready();
    return {
      async request(path) {
        const res = await app.inject({ method: 'GET', url: path });
        return { status: res.statusCode, body: res.body };
      },
      async close() {
        await stopReloader();
        await app.close();
      },
    };
  }

  const { Hono } = await import('hono');
  const pages = () => {
    const h = new Hono();
    for (const i of paths) {
      const html = body(i);
      h.get(`/page-${i}`, (c) => c.html(html));
    }
    return h;
  };
  const app = new Hono();
  if (variant === 'bare') app.route('/', pages());
  else {
    const { honoBinding } = await import('@apphook/hono');
    const b = honoBinding({ rebuildRoutes: () => pages() });
    app.use(b.middleware);
    await reload(b);
  }
  return {
    async request(path) {
      const res = await app.request(path);
      return { status: res.status, body: await res.text() };
    },
    close: () => stopReloader(),
  };
}

/** Node-style handlers (Express, Koa, Nest on Express) get light-my-request's in-process request and response. */
function viaInject(
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
  close: () => Promise<void>,
): MicroApp {
  return {
    async request(path) {
      const res = await inject(handler as never, { method: 'GET', url: path });
      return { status: res.statusCode, body: res.body };
    },
    close,
  };
}
