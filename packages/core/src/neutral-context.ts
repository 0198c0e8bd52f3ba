import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The async context `@apphook/core` was first imported in: at startup, before any request, so every
 * AsyncLocalStorage (MikroORM's RequestContext and TransactionContext, a logger's request id, OpenTelemetry's
 * context) is empty in it. Captured once, for every ALS at once, without knowing them.
 */
const runInRoot = AsyncLocalStorage.snapshot();

/**
 * Runs `fn` in that neutral context, so a build kicked by a request, a flush or a committed transaction's
 * after-commit hook never sees that request's identity map or that transaction (issue 13 item 9). Promises
 * `fn` creates keep the neutral context; the caller awaits the returned promise in its own.
 */
export function runNeutral<T>(fn: () => T): T {
  return runInRoot(fn);
}
