/**
 * The microbenchmark of one binding, in a process of its own (pinned to one core by the parent): the bare
 * framework and apphook in each mode, one in-process request per iteration, measured with tinybench in
 * interleaved rounds. Per round and variant it records the wall time per request (tinybench's mean) and this
 * process's CPU time per request (`process.cpuUsage()` over the measured phase, divided by the iterations).
 */
import { Bench } from 'tinybench';
import { serveChild } from '../lib/child.js';
import { buildApp, type MicroApp, type MicroBinding, type MicroVariant } from './apps.js';

export interface MicroChildConfig {
  binding: MicroBinding;
  routes: number;
  rounds: number;
  /** tinybench time budget per variant and round, ms. */
  timeMs: number;
}

export interface MicroSample {
  variant: MicroVariant;
  round: number;
  /** Wall time per request, ns (tinybench's mean latency). */
  wallNs: number;
  /** CPU time (user + system) of this process per request, ns. */
  cpuNs: number;
  iterations: number;
}

export const MICRO_VARIANTS: readonly MicroVariant[] = ['bare', 'push', 'interval', 'request'];

await serveChild<MicroChildConfig, { binding: MicroBinding }>(async (config) => {
  const apps = new Map<MicroVariant, MicroApp>();
  // The middle route: Express and Koa match in order, so the position is the same for every variant.
  const path = `/page-${Math.floor(config.routes / 2)}`;
  for (const variant of MICRO_VARIANTS) {
    const app = await buildApp(config.binding, variant, config.routes);
    const res = await app.request(path);
    if (res.status !== 200 || !res.body.includes('<h1>Page')) {
      throw new Error(
        `${config.binding}/${variant}: GET ${path} answered ${res.status}: ${res.body.slice(0, 100)}`,
      );
    }
    apps.set(variant, app);
  }
  return {
    info: { binding: config.binding },
    methods: {
      run: async (): Promise<MicroSample[]> => {
        const samples: MicroSample[] = [];
        for (let round = 0; round < config.rounds; round++) {
          const bench = new Bench({ time: config.timeMs, warmupTime: Math.min(200, config.timeMs) });
          // Rotated every round, so no variant always runs first (JIT and GC timing even out).
          const order = MICRO_VARIANTS.map((_, i) => MICRO_VARIANTS[(i + round) % MICRO_VARIANTS.length]!);
          const cpu = new Map<
            MicroVariant,
            { start: number; ns: number; count: number; iterations: number }
          >();
          for (const variant of order) {
            const app = apps.get(variant)!;
            const counter = { start: 0, ns: 0, count: 0, iterations: 0 };
            cpu.set(variant, counter);
            bench.add(
              variant,
              async () => {
                counter.count++;
                await app.request(path);
              },
              {
                // Each phase (warmup, then run) is bracketed; the last one bracketed is the measured run.
                beforeAll: () => {
                  counter.count = 0;
                  const u = process.cpuUsage();
                  counter.start = u.user + u.system;
                },
                afterAll: () => {
                  const u = process.cpuUsage();
                  counter.ns = (u.user + u.system - counter.start) * 1000;
                  counter.iterations = counter.count;
                },
              },
            );
          }
          await bench.run();
          for (const task of bench.tasks) {
            const variant = task.name as MicroVariant;
            const result = task.result;
            if (result.state !== 'completed') {
              throw new Error(`${config.binding}/${variant}: tinybench task ${result.state}`);
            }
            const c = cpu.get(variant)!;
            samples.push({
              variant,
              round,
              wallNs: result.latency.mean * 1e6,
              cpuNs: c.ns / Math.max(1, c.iterations),
              iterations: c.iterations,
            });
          }
        }
        return samples;
      },
    },
    async close() {
      for (const app of apps.values()) await app.close().catch(() => {});
    },
  };
});
