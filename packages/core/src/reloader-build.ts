import type { BuiltVersion } from './build-scheduler.js';
import type { Binding, TokenStore, Version } from './contracts.js';
import { buildEnded, buildStarted } from './diagnostics.js';
import { ApphookError, ApphookRebuildError } from './errors.js';
import { attempt, raceTimeout } from './timing.js';

export interface BuildInput<R, Tx> {
  store: TokenStore<Tx>;
  binding: Binding<R>;
  scope: string;
  rebuildTimeoutMs: number;
  /** The version the scheduler wants built (or later). */
  target: Version;
  /** The version served now, `undefined` before the first build. */
  from: Version | undefined;
  controller: AbortController;
  validVersion(raw: unknown): Version;
  /** Called after the binding swapped the routes in. */
  swapped(routes: R, label: Version, durationMs: number): void;
}

/**
 * One build, run by the scheduler in a neutral async context. With `readSnapshot` the version and the rows come
 * from one snapshot, `rebuildRoutes` gets its handle as `context.em`, and the build is labelled with the
 * snapshot's version (G4); otherwise it is labelled `target` and reads "at least target". A timeout aborts
 * `controller`, which tells a still-running `rebuildRoutes` (and its snapshot) to give up.
 */
export async function buildVersion<R, Tx>(input: BuildInput<R, Tx>): Promise<BuiltVersion> {
  const { store, binding, scope, target, from, controller } = input;
  const started = performance.now();
  const trace = buildStarted(scope, target, from);
  const rebuild = (version: Version, em?: Tx) =>
    binding.rebuild({
      version,
      scope,
      signal: controller.signal,
      previous: from,
      ...(em === undefined ? {} : { em }),
    });
  const work = store.readSnapshot
    ? attempt(() =>
        store.readSnapshot!(
          scope,
          async (snapshot) => {
            const label = input.validVersion(snapshot.version);
            return { label, routes: await rebuild(label, snapshot.em) };
          },
          controller.signal,
        ),
      )
    : attempt(() => rebuild(target)).then((routes) => ({ label: target, routes }));
  const { label, routes } = await raceTimeout(
    work,
    input.rebuildTimeoutMs,
    `rebuildRoutes for version ${target} took over ${input.rebuildTimeoutMs} ms (rebuildTimeoutMs)`,
    controller.signal,
  ).catch((error: unknown) => {
    buildEnded(trace, error);
    if (!controller.signal.aborted) controller.abort(error);
    throw error;
  });
  buildEnded(trace);
  return {
    label,
    swap: () => {
      binding.swap(routes, { version: label, scope });
      input.swapped(routes, label, performance.now() - started);
    },
  };
}

function codeOf(error: unknown): 'E_TIMEOUT' | 'E_REBUILD' {
  return error instanceof ApphookError && error.code === 'E_TIMEOUT' ? 'E_TIMEOUT' : 'E_REBUILD';
}

function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A rebuild failed while older routes serve (G5): emitted as an `'error'` event. */
export function rebuildFailedError(
  scope: string,
  version: Version,
  served: Version | undefined,
  error: unknown,
): ApphookRebuildError {
  return new ApphookRebuildError(
    codeOf(error),
    `[apphook/core] rebuilding scope '${scope}' for version ${version} failed; still serving version ${served}, retrying with backoff: ${detail(error)}`,
    version,
    { cause: error },
  );
}

/** The first build failed: start() rejects, there is nothing to fall back to. */
export function firstBuildError(scope: string, version: Version, error: unknown): ApphookRebuildError {
  return new ApphookRebuildError(
    codeOf(error),
    `[apphook/core] start(): the first build of scope '${scope}' (version ${version}) failed, and there are no earlier routes to fall back to: ${detail(error)}`,
    version,
    { cause: error },
  );
}

/** stop() came first: start() rejects with this, whatever it was waiting for (G12). */
export function stoppedDuringStart(scope: string, cause?: unknown): ApphookError {
  return new ApphookError(
    'E_STOPPED',
    `[apphook/core] stop() was called while start() of scope '${scope}' was in progress; the reloader did not start (create a new one to start again)`,
    cause === undefined ? undefined : { cause },
  );
}
