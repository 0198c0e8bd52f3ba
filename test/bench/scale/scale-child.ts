/**
 * Section 5 for one binding, in a process of its own (started with --expose-gc): for each route count, an app
 * with the binding mounted and an in-memory store (no database: this measures the framework's build), rebuilt
 * several times through the reloader. Reports rebuild time (rebuildRoutes plus swap, from the reload event), the
 * first and second request after the last swap (lazy router compilation shows up in the first), and the heap the
 * served build holds.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Binding, createReloader, memoryStore } from '@apphook/core';
import { serveChild } from '../lib/child.js';
import { distribution, round } from '../lib/stats.js';

/** `fastify-nohead`: the default routing with `instanceOptions: { exposeHeadRoutes: false }` (no HEAD twins). */
export type BindingName = 'express' | 'fastify' | 'fastify-nohead' | 'fastify-light' | 'koa' | 'hono';

export interface ScaleChildConfig {
  binding: BindingName;
  sizes: number[];
  rebuilds: number;
}

export interface ScaleRow {
  binding: BindingName;
  routes: number;
  rebuilds: number;
  rebuildP50Ms: number;
  rebuildMaxMs: number;
  firstRequestMs: number;
  secondRequestMs: number;
  heapMb: number;
}

interface Mounted {
  binding: Binding<unknown>;
  /** Listens on an ephemeral port (after the first build) and returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

interface Row {
  path: string;
  title: string;
}

const html = (row: Row) => `<!doctype html><title>${row.title}</title><h1>${row.title}</h1>`;

/** The app of one binding with the dynamic routes of `rows()` mounted at the root. */
async function mount(name: BindingName, rows: () => Row[]): Promise<Mounted> {
  if (name === 'express') {
    const { default: express } = await import('express');
    const { expressBinding } = await import('@apphook/express');
    const binding = expressBinding({
      rebuildRoutes: () => {
        const router = express.Router();
        for (const row of rows()) {
          const body = html(row);
          router.get(row.path, (_req, res) => {
            res.type('html').send(body);
          });
        }
        return router;
      },
    });
    const app = express();
    app.use(binding.middleware);
    return listen(binding, http.createServer(app));
  }
  if (name === 'fastify' || name === 'fastify-nohead' || name === 'fastify-light') {
    const { default: Fastify } = await import('fastify');
    const { fastifyBinding } = await import('@apphook/fastify');
    const binding = fastifyBinding({
      routing: name === 'fastify-light' ? 'light' : 'instance',
      ...(name === 'fastify-nohead' ? { instanceOptions: { exposeHeadRoutes: false } } : {}),
      rebuildRoutes: () => {
        const snapshot = rows();
        return async (app) => {
          for (const row of snapshot) {
            const body = html(row);
            app.get(row.path, async (_request, reply) => reply.type('text/html').send(body));
          }
        };
      },
    });
    const app = Fastify();
    await app.register(binding.plugin);
    return {
      binding: binding as Binding<unknown>,
      listen: () => app.listen({ host: '127.0.0.1', port: 0 }),
      async close() {
        await app.close();
      },
    };
  }
  if (name === 'koa') {
    const { default: Koa } = await import('koa');
    const { Router } = await import('@koa/router');
    const { koaBinding } = await import('@apphook/koa');
    const binding = koaBinding({
      rebuildRoutes: () => {
        const router = new Router();
        for (const row of rows()) {
          const body = html(row);
          router.get(row.path, (ctx) => {
            ctx.type = 'html';
            ctx.body = body;
          });
        }
        return router;
      },
    });
    const app = new Koa();
    app.use(binding.middleware);
    return listen(binding, http.createServer(app.callback()));
  }
  const { Hono } = await import('hono');
  const { getRequestListener } = await import('@hono/node-server');
  const { honoBinding } = await import('@apphook/hono');
  const binding = honoBinding({
    rebuildRoutes: () => {
      const pages = new Hono();
      for (const row of rows()) {
        const body = html(row);
        pages.get(row.path, (c) => c.html(body));
      }
      return pages;
    },
  });
  const app = new Hono();
  app.use(binding.middleware);
  return listen(binding, http.createServer(getRequestListener(app.fetch)));
}

function listen(binding: Binding<unknown>, server: http.Server): Mounted {
  return {
    binding,
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with --expose-gc');
  collect();
  collect();
}

async function timedGet(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200 || !text.includes('<h1>')) {
    throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 120)}`);
  }
  return performance.now() - started;
}

async function measure(name: BindingName, size: number, rebuilds: number): Promise<ScaleRow> {
  let generation = 0;
  const rows = () =>
    Array.from({ length: size }, (_, i) => ({ path: `/page-${i}`, title: `Page ${i} (${generation})` }));
  const mounted = await mount(name, rows);
  const store = memoryStore({ logger: false });
  const reloader = createReloader({ store, binding: mounted.binding, mode: 'interval', logger: false });
  const durations: number[] = [];
  reloader.on('reload', (e) => durations.push(e.durationMs));
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  await reloader.start();
  const url = await mounted.listen();
  // One warm-up request on the first build: connection set-up is not part of any build's cost.
  await timedGet(`${url}/page-0`);
  for (let i = 0; i < rebuilds; i++) {
    generation++;
    await store.transaction((tx) => reloader.markChanged(tx));
  }
  const probe = `${url}/page-${Math.floor(size / 2)}`;
  const firstRequestMs = await timedGet(probe);
  const secondRequestMs = await timedGet(probe);
  // Swapped-out builds are released (Fastify closes them a turn after their last request).
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc();
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  await reloader.stop();
  await mounted.close();
  const rebuildMs = distribution(durations.slice(1));
  return {
    binding: name,
    routes: size,
    rebuilds,
    rebuildP50Ms: round(rebuildMs.p50, 2),
    rebuildMaxMs: round(rebuildMs.max, 2),
    firstRequestMs: round(firstRequestMs, 2),
    secondRequestMs: round(secondRequestMs, 2),
    heapMb: round(heapMb, 2),
  };
}

await serveChild<ScaleChildConfig, { binding: BindingName }>(async (config) => ({
  info: { binding: config.binding },
  methods: {
    run: async () => {
      // Loads fetch's client and every lazily compiled code path once, so the first size's heap is not charged.
      await measure(config.binding, 10, 1);
      const out: ScaleRow[] = [];
      for (const size of config.sizes) out.push(await measure(config.binding, size, config.rebuilds));
      return out;
    },
  },
  async close() {},
}));
