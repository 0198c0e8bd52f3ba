import type { ReloaderMode, Version } from './contracts.js';
import type { ApphookError } from './errors.js';

export type ErrorPhase = 'start' | 'read' | 'rebuild' | 'publish' | 'hook' | 'subscribe' | 'channel';

export interface ReloadEvent {
  scope: string;
  /** Version served before, `undefined` for the first build. */
  from: Version | undefined;
  to: Version;
  durationMs: number;
}

export interface ReloaderErrorEvent {
  scope: string;
  phase: ErrorPhase;
  error: ApphookError;
}

export interface ReloaderEvents extends Record<string, unknown> {
  reload: ReloadEvent;
  error: ReloaderErrorEvent;
}

export interface ReloaderStats {
  scope: string;
  mode: ReloaderMode;
  /** Version served, `undefined` before the first build. */
  version: Version | undefined;
  /** Highest committed version seen in the store. */
  latestSeen: Version | undefined;
  checks: number;
  reads: number;
  reloads: number;
  failures: number;
  hints: number;
  /**
   * This process's commits whose notifier publish went out as part of a later one, because it came less than
   * `minPublishIntervalMs` after the previous publish (a burst of commits).
   */
  coalescedPublishes: number;
  /** `false` while any push channel reports itself down (polling at `intervalMs` then). */
  channelsHealthy: boolean;
  lastCheckAt: number | undefined;
  lastReloadAt: number | undefined;
  /** How long the last build that was swapped in took, in milliseconds. */
  lastBuildMs: number | undefined;
  /** The last error reported (also emitted as `'error'`), kept for fleet announcements and status pages. */
  lastError: { phase: ErrorPhase; code: string; message: string; at: number } | undefined;
}

export interface Reloader<R = unknown, Tx = unknown> {
  readonly scope: string;
  readonly mode: ReloaderMode;
  /** Version of the routes now served, `undefined` before the first build. */
  readonly version: Version | undefined;
  /** The build now served (what `rebuildRoutes` returned), `undefined` before the first build. */
  readonly current: R | undefined;
  /**
   * Subscribes, reads the version, builds once. Rejects if that first build fails (nothing to fall back to:
   * `E_REBUILD` / `E_TIMEOUT`), if the store cannot be read or a channel cannot subscribe (`E_CONNECTION`), and
   * with `E_STOPPED` whenever `stop()` was called before it finished (G12). Runs once per reloader.
   */
  start(): Promise<void>;
  /**
   * May be called at any moment: aborts a build in flight (its `signal` fires) and a `start()` in progress,
   * closes every subscription and timer, and resolves once nothing of this reloader is left (G12). Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Bumps the scope inside `tx`. After the outermost commit the notifier publishes and this process
   * rebuilds, so when the caller's transaction resolves this process serves the new version (or its build
   * failed and the last good routes stay). With a handle in no transaction (an `EntityManager` outside
   * `transactional()`, `undefined` with `memoryStore()`) the bump commits at once and `markChanged` itself
   * resolves only once this process serves it.
   */
  markChanged(tx: Tx): Promise<Version>;
  /** Reads the store now (shared with concurrent callers) and waits for a rebuild if it is newer. Never rejects. */
  check(): Promise<void>;
  on<K extends keyof ReloaderEvents>(event: K, listener: (event: ReloaderEvents[K]) => void): () => void;
  off<K extends keyof ReloaderEvents>(event: K, listener: (event: ReloaderEvents[K]) => void): void;
  stats(): ReloaderStats;
}
