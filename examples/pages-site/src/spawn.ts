import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuildInfo } from './site.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.js';
import type { PageChange, WriteResult } from './writer.js';

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface WorkerHandle {
  readonly name: string;
  /** The HTTP framework the worker runs. */
  readonly framework: 'express' | 'fastify';
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Every build this worker swapped in, in order. */
  readonly builds: BuildInfo[];
  /** Reloader errors the worker reported. */
  readonly errors: Array<{ phase: string; code: string; message: string }>;
  latest(): BuildInfo | undefined;
  /** Resolves when the worker serves `version` or later; rejects after `timeoutMs`. */
  waitForVersion(version: number, timeoutMs?: number): Promise<BuildInfo>;
  /** Applies a page change inside this worker (the apphook way, or naively for the negative control). */
  change(change: PageChange, options?: { holdMs?: number; naive?: boolean }): Promise<WriteResult>;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<number | null>;
}

/** Starts one site worker process (Node with the tsx loader, resolving workspace packages to source). */
export function spawnWorker(
  config: WorkerConfig & { name: string },
  options: { startTimeoutMs?: number } = {},
): Promise<WorkerHandle> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const child = fork(workerPath, [], {
    execArgv: ['--import', tsxLoader, '--conditions=@apphook/source'],
    env: { ...process.env, APPHOOK_SITE: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const builds: BuildInfo[] = [];
  const errors: WorkerHandle['errors'] = [];
  const versionWaiters = new Set<{ version: number; resolve: (b: BuildInfo) => void }>();
  const pending = new Map<number, { resolve: (r: WriteResult) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return new Promise((resolve, reject) => {
    const startTimer = setTimeout(
      () => reject(new Error(`${config.name} did not start within ${startTimeoutMs / 1000} s`)),
      startTimeoutMs,
    );
    void exited.then((code) => {
      clearTimeout(startTimer);
      reject(new Error(`${config.name} exited with code ${code} before it was ready`));
      for (const p of pending.values()) p.reject(new Error(`${config.name} exited`));
    });
    child.on('message', (message: FromWorker) => {
      if (message.type === 'build') {
        builds.push(message.build);
        for (const waiter of versionWaiters) {
          if (message.build.version >= waiter.version) {
            versionWaiters.delete(waiter);
            waiter.resolve(message.build);
          }
        }
      } else if (message.type === 'reloader-error') {
        errors.push({ phase: message.phase, code: message.code, message: message.message });
      } else if (message.type === 'changed') {
        const p = pending.get(message.id);
        pending.delete(message.id);
        if (message.result) p?.resolve(message.result);
        else p?.reject(new Error(message.error));
      } else if (message.type === 'fatal') {
        clearTimeout(startTimer);
        reject(new Error(`${message.name} failed to start: ${message.message}`));
      } else if (message.type === 'ready') {
        clearTimeout(startTimer);
        if (message.build && builds.length === 0) builds.push(message.build);
        const handle: WorkerHandle = {
          name: config.name,
          framework: config.framework ?? 'express',
          url: message.url,
          port: message.port,
          process: child,
          builds,
          errors,
          exited,
          latest: () => builds.at(-1),
          waitForVersion(version, timeoutMs = 10_000) {
            const last = builds.at(-1);
            if (last && last.version >= version) return Promise.resolve(last);
            return new Promise((res, rej) => {
              const waiter = {
                version,
                resolve: (b: BuildInfo) => {
                  clearTimeout(timer);
                  res(b);
                },
              };
              const timer = setTimeout(() => {
                versionWaiters.delete(waiter);
                rej(
                  new Error(
                    `${config.name} did not serve version ${version} within ${timeoutMs} ms (serves ${builds.at(-1)?.version})`,
                  ),
                );
              }, timeoutMs);
              versionWaiters.add(waiter);
            });
          },
          change(change, options = {}) {
            const id = ++nextId;
            return new Promise((res, rej) => {
              pending.set(id, { resolve: res, reject: rej });
              child.send({ type: 'change', id, change, ...options } satisfies ToWorker);
            });
          },
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.send({ type: 'stop' } satisfies ToWorker);
            // A clean stop closes the site and says goodbye to the fleet; on a loaded machine that can take
            // seconds. The kill is only for a worker that hangs.
            const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
            await exited;
            clearTimeout(timer);
          },
          kill(signal = 'SIGKILL') {
            child.kill(signal);
          },
        };
        resolve(handle);
      }
    });
  });
}
