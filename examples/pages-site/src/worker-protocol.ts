import type { BuildInfo, SiteOptions } from './site.js';
import type { PageChange, WriteResult } from './writer.js';

/** Serializable part of `SiteOptions`, passed to a worker process in `APPHOOK_SITE`. */
export type WorkerConfig = Omit<SiteOptions, 'onBuild' | 'statusTable'>;

export type FromWorker =
  | { type: 'ready'; name: string; url: string; port: number; build: BuildInfo | undefined }
  | { type: 'build'; name: string; build: BuildInfo }
  | { type: 'reloader-error'; name: string; phase: string; code: string; message: string }
  | { type: 'changed'; id: number; result?: WriteResult; error?: string }
  | { type: 'fatal'; name: string; message: string };

export type ToWorker =
  | { type: 'change'; id: number; change: PageChange; holdMs?: number; naive?: boolean }
  | { type: 'stop' };
