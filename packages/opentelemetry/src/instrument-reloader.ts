/**
 * OpenTelemetry metrics and a span per build for one reloader, through `@opentelemetry/api` only: with no SDK
 * registered every instrument is the API's no-op, and without `instrumentReloader` nothing is subscribed at all
 * (the core's diagnostics channels stay without subscribers, so their publish is a boolean check).
 *
 * Instruments (attribute `apphook.scope` on all):
 * - `apphook.reloads` counter: builds swapped in.
 * - `apphook.build.failures` counter: builds that threw or timed out.
 * - `apphook.build.duration` histogram (s), attribute `apphook.outcome` = `success` | `failure`.
 * - `apphook.version.served` gauge, `apphook.version.behind` gauge (latest committed seen minus served).
 * - `apphook.channel.healthy` gauge: 1 while every push channel is up, 0 while polling for a lost one.
 * - `apphook.hints.received` counter; `apphook.hints.dropped` counter (from a notifier's `stats()`).
 * Spans: `apphook.build` per `rebuildRoutes` call, with `apphook.scope`, `apphook.version`, error status on failure.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type BuildDiagnostic, DIAGNOSTICS_CHANNELS, type Reloader } from '@apphook/core';
import {
  type Attributes,
  type BatchObservableCallback,
  type MeterProvider,
  metrics,
  type Span,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';

const NAME = '@apphook/opentelemetry';
const VERSION = '0.1.0';

/** Counters a notifier may expose: `redisNotifier().stats()` has them. */
export interface NotifierDropStats {
  stats(): { oversized?: number; malformed?: number };
}

export interface InstrumentReloaderOptions {
  /** @default the global MeterProvider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /** @default the global TracerProvider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** The reloader's notifier, to count dropped hints (oversized or malformed messages). */
  notifier?: NotifierDropStats;
  /** Extra attributes on every measurement, e.g. `{ 'service.instance.id': podName }`. */
  attributes?: Attributes;
}

export interface ReloaderInstrumentation {
  /** Removes every listener, callback and channel subscription. Idempotent. */
  close(): void;
}

export type InstrumentedReloader = Pick<Reloader, 'scope' | 'stats' | 'on'>;

export function instrumentReloader(
  reloader: InstrumentedReloader,
  options: InstrumentReloaderOptions = {},
): ReloaderInstrumentation {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(NAME, VERSION);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(NAME, VERSION);
  const attributes: Attributes = { ...options.attributes, 'apphook.scope': reloader.scope };

  const reloads = meter.createCounter('apphook.reloads', { description: 'Builds swapped in' });
  const failures = meter.createCounter('apphook.build.failures', {
    description: 'Builds that threw or timed out (the previous routes kept serving)',
  });
  const duration = meter.createHistogram('apphook.build.duration', {
    description: 'Duration of rebuildRoutes calls',
    unit: 's',
    // Seconds, not the SDK's default millisecond-sized buckets: builds take milliseconds to tens of seconds.
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] },
  });
  const served = meter.createObservableGauge('apphook.version.served', { description: 'Version served' });
  const behind = meter.createObservableGauge('apphook.version.behind', {
    description: 'Latest committed version seen minus the version served',
  });
  const healthy = meter.createObservableGauge('apphook.channel.healthy', {
    description: '1 while every push channel is up, 0 while the reloader polls for a lost one',
  });
  const hints = meter.createObservableCounter('apphook.hints.received', {
    description: 'Push hints received',
  });
  const dropped = meter.createObservableCounter('apphook.hints.dropped', {
    description: 'Push messages dropped as oversized or malformed',
  });

  const observables = [served, behind, healthy, hints, dropped];
  const observe: BatchObservableCallback = (result) => {
    const s = reloader.stats();
    if (s.version !== undefined) result.observe(served, s.version, attributes);
    if (s.version !== undefined && s.latestSeen !== undefined)
      result.observe(behind, Math.max(0, s.latestSeen - s.version), attributes);
    result.observe(healthy, s.channelsHealthy ? 1 : 0, attributes);
    result.observe(hints, s.hints, attributes);
    if (options.notifier) {
      const n = options.notifier.stats();
      result.observe(dropped, (n.oversized ?? 0) + (n.malformed ?? 0), attributes);
    }
  };
  meter.addBatchObservableCallback(observe, observables);
  const offReload = reloader.on('reload', () => reloads.add(1, attributes));
  const offError = reloader.on('error', ({ phase }) => {
    if (phase === 'rebuild') failures.add(1, attributes);
  });

  // Spans and durations come from the core's diagnostics channels: they carry the start as well as the end.
  const spans = new WeakMap<BuildDiagnostic, Span>();
  const onStart = (message: unknown) => {
    const m = message as BuildDiagnostic;
    if (m.scope !== reloader.scope) return;
    spans.set(
      m,
      tracer.startSpan('apphook.build', {
        attributes: { ...attributes, 'apphook.version': m.version, 'apphook.previous': m.previous ?? -1 },
      }),
    );
  };
  const onEnd = (message: unknown) => {
    const m = message as BuildDiagnostic;
    if (m.scope !== reloader.scope) return;
    const failed = m.error !== undefined;
    duration.record((m.durationMs ?? 0) / 1000, {
      ...attributes,
      'apphook.outcome': failed ? 'failure' : 'success',
    });
    const span = spans.get(m);
    if (!span) return;
    if (failed) {
      if (m.error instanceof Error) span.recordException(m.error);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: m.error instanceof Error ? m.error.message : String(m.error),
      });
    }
    span.end();
    spans.delete(m);
  };
  subscribe(DIAGNOSTICS_CHANNELS.buildStart, onStart);
  subscribe(DIAGNOSTICS_CHANNELS.buildEnd, onEnd);

  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      offReload();
      offError();
      meter.removeBatchObservableCallback(observe, observables);
      unsubscribe(DIAGNOSTICS_CHANNELS.buildStart, onStart);
      unsubscribe(DIAGNOSTICS_CHANNELS.buildEnd, onEnd);
    },
  };
}
