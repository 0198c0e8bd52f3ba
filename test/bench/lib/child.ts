/**
 * A tiny RPC between the bench (parent) and the processes it measures: the parent forks a TypeScript module
 * with the tsx loader (workspace packages resolved to source), the child answers `call(method, params)`.
 * Servers under load run in their own process so the load generator never shares their event loop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

type ToChild = { id: number; method: string; params: unknown };
type FromChild =
  | { type: 'ready'; info: unknown }
  | { type: 'fatal'; message: string }
  | { type: 'reply'; id: number; result?: unknown; error?: string };

export interface Child<Info> {
  readonly info: Info;
  readonly process: ChildProcess;
  call<T>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop, kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Forks `modulePath` with `config` in `APPHOOK_BENCH`; resolves with what the child reported as ready. */
export function startChild<Info>(
  modulePath: string,
  config: unknown,
  options: { startTimeoutMs?: number; execArgv?: string[] } = {},
): Promise<Child<Info>> {
  const name = `${basename(dirname(modulePath))}/${basename(modulePath)}`;
  const child = fork(modulePath, [], {
    execArgv: ['--import', tsxLoader, '--conditions=@apphook/source', ...(options.execArgv ?? [])],
    env: { ...process.env, APPHOOK_BENCH: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then((code) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited with code ${code}`));
    pending.clear();
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${options.startTimeoutMs ?? 60_000} ms`));
    }, options.startTimeoutMs ?? 60_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    });
    child.on('message', (message: FromChild) => {
      if (message.type === 'reply') {
        const p = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) p?.reject(new Error(message.error));
        else p?.resolve(message.result);
      } else if (message.type === 'fatal') {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${name} failed to start: ${message.message}`));
      } else if (message.type === 'ready') {
        clearTimeout(timer);
        resolve({
          info: message.info as Info,
          process: child,
          call<T>(method: string, params?: unknown, timeoutMs = 120_000): Promise<T> {
            const id = ++nextId;
            return new Promise<T>((res, rej) => {
              const t = setTimeout(() => {
                pending.delete(id);
                rej(new Error(`${name}: ${method} did not answer within ${timeoutMs} ms`));
              }, timeoutMs);
              pending.set(id, {
                resolve: (v) => {
                  clearTimeout(t);
                  res(v as T);
                },
                reject: (e) => {
                  clearTimeout(t);
                  rej(e);
                },
              });
              child.send({ id, method, params } satisfies ToChild);
            });
          },
          async stop(graceMs = 5_000) {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.send({ id: 0, method: '__stop', params: undefined } satisfies ToChild);
            const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
            await exited;
            clearTimeout(kill);
          },
        });
      }
    });
  });
}

/** The child's side: reads its config, starts, then answers calls until `__stop` (or the parent goes away). */
export async function serveChild<Config, Info>(
  start: (config: Config) => Promise<{
    info: Info;
    methods: Record<string, (params: never) => unknown>;
    close(): Promise<void>;
  }>,
): Promise<void> {
  const send = (message: FromChild) => process.send?.(message);
  const config = JSON.parse(process.env.APPHOOK_BENCH ?? '{}') as Config;
  let started: Awaited<ReturnType<typeof start>>;
  try {
    started = await start(config);
  } catch (error) {
    send({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  }
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    const hard = setTimeout(() => process.exit(0), 3_000);
    hard.unref();
    void started
      .close()
      .catch(() => {})
      .finally(() => process.exit(0));
  };
  process.on('message', async (message: ToChild) => {
    if (message.method === '__stop') return close();
    const method = started.methods[message.method];
    try {
      if (!method) throw new Error(`unknown method ${message.method}`);
      const result = await method(message.params as never);
      send({ type: 'reply', id: message.id, result });
    } catch (error) {
      send({ type: 'reply', id: message.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  process.on('disconnect', close);
  send({ type: 'ready', info: started.info });
}
