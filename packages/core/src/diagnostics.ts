/**
 * `node:diagnostics_channel` events, the convention pg and undici follow: APMs, the OpenTelemetry package and
 * tests subscribe by name; with no subscriber a publish is a boolean check (no object is built). Channel names
 * are part of the public API (docs/operations.md):
 *
 * - `apphook:build:start`  `{ scope, version, previous }` when a `rebuildRoutes` call starts.
 * - `apphook:build:end`    the same object plus `durationMs`, and `error` when the build failed or timed out.
 * - `apphook:hint`         `{ scope }` when a push hint for a running reloader arrives (it only triggers a read).
 * - `apphook:error`        `{ scope, phase, error }`, the same payload as the reloader's `'error'` event.
 */
import { channel } from 'node:diagnostics_channel';
import type { Version } from './contracts.js';
import type { ReloaderErrorEvent } from './reloader-types.js';

export const DIAGNOSTICS_CHANNELS = {
  buildStart: 'apphook:build:start',
  buildEnd: 'apphook:build:end',
  hint: 'apphook:hint',
  error: 'apphook:error',
} as const;

/** Published on `apphook:build:start`; the same object, completed, is published on `apphook:build:end`. */
export interface BuildDiagnostic {
  scope: string;
  version: Version;
  previous: Version | undefined;
  /** Set on `apphook:build:end`. */
  durationMs?: number;
  /** Set on `apphook:build:end` when the build threw, timed out or was aborted. */
  error?: unknown;
}

const buildStart = channel(DIAGNOSTICS_CHANNELS.buildStart);
const buildEnd = channel(DIAGNOSTICS_CHANNELS.buildEnd);
const hint = channel(DIAGNOSTICS_CHANNELS.hint);
const errors = channel(DIAGNOSTICS_CHANNELS.error);

interface BuildTrace {
  message: BuildDiagnostic;
  started: number;
}

/** Returns a trace handle only when someone listens to either build channel. */
export function buildStarted(
  scope: string,
  version: Version,
  previous: Version | undefined,
): BuildTrace | undefined {
  if (!buildStart.hasSubscribers && !buildEnd.hasSubscribers) return undefined;
  const message: BuildDiagnostic = { scope, version, previous };
  if (buildStart.hasSubscribers) buildStart.publish(message);
  return { message, started: performance.now() };
}

export function buildEnded(trace: BuildTrace | undefined, error?: unknown): void {
  if (!trace || !buildEnd.hasSubscribers) return;
  trace.message.durationMs = performance.now() - trace.started;
  if (error !== undefined) trace.message.error = error;
  buildEnd.publish(trace.message);
}

export function hintReceived(scope: string): void {
  if (hint.hasSubscribers) hint.publish({ scope });
}

export function errorReported(event: ReloaderErrorEvent): void {
  if (errors.hasSubscribers) errors.publish(event);
}
