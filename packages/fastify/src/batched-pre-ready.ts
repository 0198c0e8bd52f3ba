import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

/**
 * Fastify registers one `avvio.once('preReady', ...)` listener per route (two for a GET: its HEAD twin). When
 * `ready()` emits, each once-wrapper removes itself from the front of a list that Node searches from the end,
 * so a build of n routes spends O(n²) in `removeListener`: about a second at 10,000 routes, half of Fastify's
 * whole build. For the instances this binding makes, the `preReady` listeners go into one list behind a
 * single once-listener instead, and run in the order they were added, exactly once, as before.
 *
 * Only instances passed to `batchPreReady` are affected (the app's own instance keeps Fastify's behaviour),
 * and if avvio cannot be found or looks different, nothing is patched and builds are only slower.
 */

type Listener = (...args: unknown[]) => void;
interface Boot extends EventEmitter {
  _server?: unknown;
}

const batched = new WeakSet<object>();
const lists = new WeakMap<object, Listener[]>();
let installed: boolean | undefined;

function install(): boolean {
  try {
    const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
    const Boot = requireFromFastify('avvio') as { prototype: Boot };
    const proto = Boot.prototype;
    // Another copy of this module (or of avvio's own future code) got there first: leave it.
    if (Object.hasOwn(proto, 'once') || !(proto instanceof EventEmitter)) return false;
    proto.once = function once(this: Boot, type: string | symbol, listener: Listener) {
      const server = this._server;
      if (type !== 'preReady' || typeof server !== 'object' || server === null || !batched.has(server)) {
        return EventEmitter.prototype.once.call(this, type, listener);
      }
      let list = lists.get(this);
      if (!list) {
        const fresh: Listener[] = [];
        list = fresh;
        lists.set(this, fresh);
        EventEmitter.prototype.once.call(this, 'preReady', (...args: unknown[]) => {
          lists.delete(this);
          for (const fn of fresh) fn.apply(this, args);
        });
      }
      list.push(listener);
      return this;
    };
    return true;
  } catch {
    return false;
  }
}

/** Batches the `preReady` listeners of `instance` (a fresh instance of this binding, before routes are added). */
export function batchPreReady(instance: FastifyInstance): void {
  installed ??= install();
  if (installed) batched.add(instance);
}
