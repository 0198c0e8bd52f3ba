import { createReloader, type MemoryStore, memoryStore, type Reloader } from '@apphook/core';
import type { DynamicRoutesPlugin, FastifyBinding } from '@apphook/fastify';
import type { FastifyInstance } from 'fastify';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** Real HTTP against a listening app. */
export async function call(
  base: string,
  path: string,
  init: { method?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const json = init.json !== undefined;
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? (json ? 'POST' : 'GET'),
    headers: json ? { 'content-type': 'application/json', ...init.headers } : init.headers,
    body: json ? JSON.stringify(init.json) : init.body,
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

export async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

export interface Harness {
  store: MemoryStore;
  reloader: Reloader<unknown, Parameters<MemoryStore['bump']>[0]>;
  /** Commits a bump and resolves once this process serves the new build (or the build failed). */
  change(): Promise<number>;
}

/** A reloader on a fresh memory store, in push mode, for one binding. */
export function harness(binding: FastifyBinding, cleanups: Array<() => Promise<unknown>>): Harness {
  const store = memoryStore({ logger: false });
  const reloader = createReloader({
    store,
    binding,
    logger: false,
    retryBaseMs: 20,
    retryMaxMs: 40,
  });
  cleanups.push(() => reloader.stop());
  return { store, reloader, change: () => store.transaction((tx) => reloader.markChanged(tx)) };
}

/** A plugin registering `GET path` answering `body` for each entry. */
export function routes(table: Record<string, string>): DynamicRoutesPlugin {
  return async (app) => {
    for (const [path, body] of Object.entries(table)) app.get(path, async () => body);
  };
}
