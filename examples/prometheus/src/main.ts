/**
 * A reloader's metrics on a Prometheus endpoint: `pnpm start` serves http://localhost:9464/metrics and bumps the
 * version every 2 s; `--check` bumps a few times, scrapes once, checks the apphook series and exits.
 */
import { type AddressInfo, createServer } from 'node:net';
import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { instrumentReloader } from '@apphook/opentelemetry';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const check = process.argv.includes('--check');
const port = check ? await freePort() : Number(process.env.PORT ?? 9464);

// The exporter is a MetricReader that serves /metrics itself.
const exporter = new PrometheusExporter({ port, host: '127.0.0.1', preventServerStart: true });
await exporter.startServer();
const meterProvider = new MeterProvider({ readers: [exporter] });

const store = memoryStore(); // your postgresStore(orm) / mysqlStore(orm) / sqliteStore(orm)
const reloader = createReloader({
  store,
  scope: 'routes',
  mode: 'interval',
  intervalMs: 1000,
  binding: callbackBinding({ rebuildRoutes: async ({ version }) => ({ version }) }),
});
const instrumentation = instrumentReloader(reloader, { meterProvider });
await reloader.start();

const bump = () => store.transaction((tx) => reloader.markChanged(tx));

if (check) {
  for (let i = 0; i < 3; i++) await bump();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const wanted = [
    /apphook_reloads(_total)?\{[^}]*apphook_scope="routes"[^}]*\} 4/,
    /apphook_build_duration(_seconds)?_count\{[^}]*apphook_outcome="success"[^}]*\} 4/,
    /apphook_version_served\{[^}]*\} 3/,
    /apphook_channel_healthy\{[^}]*\} 1/,
  ];
  const missing = wanted.filter((re) => !re.test(text));
  instrumentation.close();
  await reloader.stop();
  await meterProvider.shutdown();
  if (missing.length) {
    console.error(`check failed: /metrics lacks ${missing.join(', ')}\n${text}`);
    process.exit(1);
  }
  console.log('check passed: /metrics has the apphook counters, histogram and gauges');
} else {
  console.log(`metrics on http://localhost:${port}/metrics; bumping the version every 2 s (Ctrl-C stops)`);
  setInterval(() => void bump(), 2000);
}
