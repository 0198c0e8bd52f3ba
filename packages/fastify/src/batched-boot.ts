import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { declaringRoutes } from './router-functions.js';

/**
 * Fastify does two things per route through avvio, its plugin loader: `this.after(...)` (one avvio plugin per
 * route, with its own queue, timer and time-tree node, to read the error handler once the plugin has loaded)
 * and, from there, `avvio.once('preReady', ...)` (to set up hooks and schemas). A GET counts twice (its HEAD
 * twin). At 10,000 routes the listeners cost O(n²) in `removeListener` and the plugins most of the rest of
 * avvio's time. For the instances this binding makes, both are batched, with the same order and results:
 *
 * - the `preReady` listeners go into one list behind a single once-listener and run in the order they were added;
 * - the `after` callbacks of consecutive routes of one plugin share one avvio `after`, which runs them in the
 *   order they were declared, each with the error the previous one passed on, exactly as separate afters would.
 *   A batch is closed by anything else added to avvio's queue (`register`, `addHook`, a user's `after`), by
 *   another plugin becoming the one loading, and when it starts running: so every callback still runs at its
 *   own place in the queue relative to everything that is not a route.
 *
 * Only instances passed to `batchBoot` are affected (the app's own instance keeps Fastify's behaviour), and if
 * avvio cannot be found or looks different, nothing is patched and builds are only slower.
 */

type Listener = (...args: unknown[]) => void;
type AfterCallback = (error: unknown, done: (error?: unknown) => void) => void;
interface Boot extends EventEmitter {
  _server?: unknown;
  _current: unknown[];
  after(func?: AfterCallback): Boot;
  _addPlugin(...args: unknown[]): unknown;
}
interface AfterBatch {
  /** The avvio plugin loading when the batch was opened: its queue holds the batch. */
  readonly owner: unknown;
  readonly callbacks: AfterCallback[];
}

const batched = new WeakSet<object>();
/** Per batched instance: how many route declarations are running (a route's `after` is batched only then). */
const declaring = new WeakMap<object, { depth: number }>();
const preReadyLists = new WeakMap<object, Listener[]>();
const openBatches = new WeakMap<object, AfterBatch>();
let installed: boolean | undefined;

/** The route methods of a Fastify instance (fastify.js); a method added later only misses the batching. */
const ROUTE_METHODS = [
  'delete',
  'get',
  'head',
  'trace',
  'patch',
  'post',
  'put',
  'options',
  'query',
  'all',
  'route',
];

function install(): boolean {
  try {
    const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
    const Boot = requireFromFastify('avvio') as { prototype: Boot };
    const proto = Boot.prototype;
    // Another copy of this module (or of avvio's own future code) got there first: leave it.
    if (
      Object.hasOwn(proto, 'once') ||
      !(proto instanceof EventEmitter) ||
      typeof proto.after !== 'function' ||
      typeof proto._addPlugin !== 'function'
    ) {
      return false;
    }
    const isBatched = (boot: Boot): boolean => {
      const server = boot._server;
      return typeof server === 'object' && server !== null && batched.has(server);
    };
    proto.once = function once(this: Boot, type: string | symbol, listener: Listener) {
      if (type !== 'preReady' || !isBatched(this))
        return EventEmitter.prototype.once.call(this, type, listener) as Boot;
      let list = preReadyLists.get(this);
      if (!list) {
        const fresh: Listener[] = [];
        list = fresh;
        preReadyLists.set(this, fresh);
        EventEmitter.prototype.once.call(this, 'preReady', (...args: unknown[]) => {
          preReadyLists.delete(this);
          for (const fn of fresh) fn.apply(this, args);
        });
      }
      list.push(listener);
      return this;
    };
    const addPlugin = proto._addPlugin;
    proto._addPlugin = function _addPlugin(this: Boot, ...args: unknown[]) {
      // Something else joins the queue: later routes must queue behind it, in a batch of their own.
      openBatches.delete(this);
      return addPlugin.apply(this, args);
    };
    const after = proto.after;
    proto.after = function batchedAfter(this: Boot, func?: AfterCallback) {
      const server = this._server as object;
      if (typeof func !== 'function' || !isBatched(this) || !(declaring.get(server)?.depth ?? 0)) {
        return after.call(this, func);
      }
      const owner = this._current[0];
      const open = openBatches.get(this);
      if (open && open.owner === owner) {
        open.callbacks.push(func);
        return this;
      }
      const batch: AfterBatch = { owner, callbacks: [func] };
      after.call(this, (error, done) => {
        // Running now: a route declared from here on (after `await app.after()`) must not join a list already run.
        if (openBatches.get(this) === batch) openBatches.delete(this);
        runInOrder(batch.callbacks, error, done);
      });
      openBatches.set(this, batch);
      return this;
    };
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs avvio after-callbacks one after another, each getting the error the previous one passed to its `done`,
 * without growing the stack when they call `done` synchronously (Fastify's route callbacks do).
 */
function runInOrder(callbacks: AfterCallback[], initial: unknown, done: (error?: unknown) => void): void {
  let index = 0;
  let error = initial;
  const step = (): void => {
    while (index < callbacks.length) {
      const callback = callbacks[index++] as AfterCallback;
      let settled = false;
      let synchronous = true;
      callback(error, (next) => {
        if (settled) return; // avvio ignores a second call too
        settled = true;
        error = next;
        if (!synchronous) step();
      });
      synchronous = false;
      if (!settled) return; // it continues from its own `done`
    }
    done(error);
  };
  step();
}

/**
 * Batches avvio's per-route work on `instance` (a fresh instance of this binding, before routes are added), and
 * shares find-my-way's compiled functions between its routes (router-functions.ts).
 */
export function batchBoot(instance: FastifyInstance): void {
  installed ??= install();
  if (!installed) return;
  batched.add(instance);
  const state = { depth: 0 };
  declaring.set(instance, state);
  const methods = instance as unknown as Record<string, unknown>;
  for (const name of ROUTE_METHODS) {
    const declare = methods[name];
    if (!Object.hasOwn(methods, name) || typeof declare !== 'function') continue;
    // Encapsulated instances inherit these from the root instance, so routes of nested plugins count too.
    methods[name] = function declaringRoute(this: unknown, ...args: unknown[]) {
      state.depth++;
      try {
        return declaringRoutes(() => declare.apply(this, args));
      } finally {
        state.depth--;
      }
    };
  }
}
