/**
 * The microbenchmark of one binding, in a process of its own (pinned to one core by the parent). It holds the
 * binding's app in every variant (apps.ts) and drives each with real Node request and response objects on a stub
 * socket (node-driver.ts), in short batches of the same number of requests: per round every variant runs
 * several batches, interleaved with the others' in an order rotated every batch. A round keeps each variant's
 * fastest batch (wall time per request): on a shared machine another process can only add time to a batch, so
 * the fastest is the one it disturbed least, and bare and apphook are measured alike. CPU time per request
 * (user + system, `process.cpuUsage()`, all batches) is kept beside it. No tinybench: its per-iteration timing
 * would cost more than the differences measured here.
 *
 * It also serves the bare variant over HTTP (`serve`), for the parent to load with autocannon: the framework's
 * own server CPU time per request, against which apphook's added nanoseconds are set.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DbConfig } from '@apphook/example-pages-site/db';
import { serveChild } from '../lib/child.js';
import { buildApp, type MicroApp, type MicroBinding, type MicroVariant } from './apps.js';
import { drive } from './node-driver.js';

export interface MicroChildConfig {
  binding: MicroBinding;
  variants: MicroVariant[];
  routes: number;
  rounds: number;
  /** Batches per variant and round; the round keeps each variant's fastest. */
  batches: number;
  /** Wall time one batch of the bare variant takes, ms (sets the batch size, the same for every variant). */
  batchMs: number;
  /** The database of the request-mode variants that read a real store. */
  databases?: Partial<Record<'postgres' | 'sqlite', DbConfig>>;
}

export interface MicroSample {
  variant: MicroVariant;
  round: number;
  /** CPU time (user + system) of this process per request over the round's batches, ns. */
  cpuNs: number;
  /** Wall time per request of the round's fastest batch, ns. */
  wallNs: number;
  iterations: number;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** `n` requests one after another; a response that ends later is awaited before the next request starts. */
async function batch(listener: RequestListener, path: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const pending = drive(listener, path);
    if (pending) await pending;
  }
}

await serveChild<MicroChildConfig, { binding: MicroBinding }>(async (config) => {
  const apps = new Map<MicroVariant, MicroApp>();
  // The middle route: Express and Koa match in order, so the position is the same for every variant.
  const path = `/page-${Math.floor(config.routes / 2)}`;
  for (const variant of config.variants) {
    const app = await buildApp(config.binding, variant, config.routes, config.databases);
    const res = await drive(app.listener, path, true);
    const ok =
      variant === 'harness' ? res?.status === 200 : res?.status === 200 && res.raw.includes('<h1>Page');
    if (!ok) {
      throw new Error(
        `${config.binding}/${variant}: GET ${path} answered ${res?.status}: ${res?.raw.slice(0, 200)}`,
      );
    }
    apps.set(variant, app);
  }
  let server: Server | undefined;
  return {
    info: { binding: config.binding },
    methods: {
      run: async (): Promise<MicroSample[]> => {
        // Warm-up (JIT), then the batch size: as many requests as the bare variant serves in `batchMs`.
        const bare = apps.get('bare')!.listener;
        for (const app of apps.values()) await batch(app.listener, path, 500);
        let fastest = Number.POSITIVE_INFINITY;
        for (let k = 0; k < 5; k++) {
          const t0 = process.hrtime.bigint();
          await batch(bare, path, 100);
          fastest = Math.min(fastest, Number(process.hrtime.bigint() - t0) / 100);
        }
        const n = Math.max(20, Math.round((config.batchMs * 1e6) / fastest));
        for (const app of apps.values()) await batch(app.listener, path, n);

        const samples: MicroSample[] = [];
        const variants = config.variants;
        for (let round = 0; round < config.rounds; round++) {
          const wall = new Map(variants.map((v) => [v, Number.POSITIVE_INFINITY]));
          const cpu = new Map(variants.map((v) => [v, 0]));
          for (let b = 0; b < config.batches; b++) {
            // Rotated every batch, so no variant always runs first or right after another.
            for (let k = 0; k < variants.length; k++) {
              const variant = variants[(k + b + round) % variants.length]!;
              const listener = apps.get(variant)!.listener;
              const cpu0 = cpuNow();
              const wall0 = process.hrtime.bigint();
              await batch(listener, path, n);
              const ns = Number(process.hrtime.bigint() - wall0) / n;
              cpu.set(variant, cpu.get(variant)! + cpuNow() - cpu0);
              wall.set(variant, Math.min(wall.get(variant)!, ns));
            }
          }
          for (const variant of variants) {
            const iterations = n * config.batches;
            samples.push({
              variant,
              round,
              wallNs: wall.get(variant)!,
              cpuNs: cpu.get(variant)! / iterations,
              iterations,
            });
          }
        }
        return samples;
      },
      /** Serves the bare variant over HTTP on a loopback port, as `http.createServer(listener)`. */
      serve: async (): Promise<number> => {
        server = createServer(apps.get('bare')!.listener);
        await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
        return (server.address() as AddressInfo).port;
      },
      /** This process's CPU time so far (user + system), in microseconds. */
      cpu: () => cpuNow() / 1000,
    },
    async close() {
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      for (const app of apps.values()) await app.close().catch(() => {});
    },
  };
});
