import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { instrumentReloader } from '@apphook/opentelemetry';
import { SpanStatusCode } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';

/** A reader the test collects from by hand. */
class TestReader extends MetricReader {
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

async function collect(reader: TestReader) {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, Array<{ value: unknown; attributes: Record<string, unknown> }>>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics)
      byName.set(
        metric.descriptor.name,
        metric.dataPoints.map((p) => ({
          value: p.value,
          attributes: p.attributes as Record<string, unknown>,
        })),
      );
  return byName;
}

describe('OpenTelemetry metrics and spans', () => {
  it('counts reloads and failed builds, records build durations, and observes version, lag, channel and hints', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const spans = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
    });
    const store = memoryStore({ logger: false });
    let failOn = -1;
    const reloader = createReloader({
      store,
      scope: 'otel',
      mode: 'interval',
      intervalMs: 60_000,
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
      logger: false,
      binding: callbackBinding({
        rebuildRoutes: ({ version }) => {
          if (version === failOn) throw new Error('no routes today');
          return version;
        },
      }),
    });
    const notifier = { stats: () => ({ oversized: 2, malformed: 3 }) };
    const instrumentation = instrumentReloader(reloader, { meterProvider, tracerProvider, notifier });
    await reloader.start();
    await store.transaction((tx) => reloader.markChanged(tx));
    await store.transaction((tx) => reloader.markChanged(tx));
    failOn = 3;
    await store.transaction((tx) => reloader.markChanged(tx));

    const m = await collect(reader);
    const scope = { 'apphook.scope': 'otel' };
    expect(m.get('apphook.reloads')).toEqual([{ value: 3, attributes: scope }]);
    expect(m.get('apphook.build.failures')).toEqual([{ value: 1, attributes: scope }]);
    const histogram = m.get('apphook.build.duration')!;
    const outcomes = Object.fromEntries(
      histogram.map((p) => [p.attributes['apphook.outcome'], (p.value as { count: number }).count]),
    );
    expect(outcomes).toEqual({ success: 3, failure: 1 });
    expect(m.get('apphook.version.served')).toEqual([{ value: 2, attributes: scope }]);
    expect(m.get('apphook.version.behind')).toEqual([{ value: 1, attributes: scope }]);
    expect(m.get('apphook.channel.healthy')).toEqual([{ value: 1, attributes: scope }]);
    expect(m.get('apphook.hints.received')).toEqual([{ value: 0, attributes: scope }]);
    expect(m.get('apphook.hints.dropped')).toEqual([{ value: 5, attributes: scope }]);

    await tracerProvider.forceFlush();
    const finished = spans.getFinishedSpans();
    expect(finished.map((s) => [s.name, s.attributes['apphook.version'], s.status.code])).toEqual([
      ['apphook.build', 0, SpanStatusCode.UNSET],
      ['apphook.build', 1, SpanStatusCode.UNSET],
      ['apphook.build', 2, SpanStatusCode.UNSET],
      ['apphook.build', 3, SpanStatusCode.ERROR],
    ]);
    expect(finished[3]!.status.message).toMatch(/no routes today/);

    // After close() nothing is recorded any more.
    instrumentation.close();
    failOn = -1;
    await store.transaction((tx) => reloader.markChanged(tx));
    expect((await collect(reader)).get('apphook.reloads')).toEqual([{ value: 3, attributes: scope }]);
    expect(spans.getFinishedSpans()).toHaveLength(4);
    await reloader.stop();
    await meterProvider.shutdown();
  });

  it('costs nothing without an SDK: the API no-op meter and tracer accept everything', async () => {
    const store = memoryStore({ logger: false });
    const reloader = createReloader({
      store,
      scope: 'otel-noop',
      mode: 'interval',
      logger: false,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => version }),
    });
    const instrumentation = instrumentReloader(reloader);
    await reloader.start();
    await store.transaction((tx) => reloader.markChanged(tx));
    expect(reloader.version).toBe(1);
    instrumentation.close();
    await reloader.stop();
  });
});
