import { type Context, Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { honoBinding } from '../src/index.js';
import { started } from './started.js';

const request = (path: string) => new Request(`http://localhost${path}`);

// @hono/node-server writes a Response it gets synchronously on its fast path; a promise costs it a close
// listener and an await. An async wrapper in the binding was most of what it added (bench section 1b).
describe('honoBinding answers synchronously when the built route does', () => {
  it('through the middleware: the outer app’s fetch returns the Response itself', async () => {
    const binding = honoBinding({ rebuildRoutes: () => new Hono().get('/a', (c) => c.text('a')) });
    await started(binding);
    const app = new Hono();
    app.use(binding.middleware);
    app.get('/after', (c) => c.text('after'));
    const answer = app.fetch(request('/a'));
    expect(answer).toBeInstanceOf(Response);
    expect(await (answer as Response).text()).toBe('a');
    // Falling through goes on to next(), which Hono runs as a promise.
    expect(await (await app.fetch(request('/after'))).text()).toBe('after');
  });

  it('through binding.handler: it returns the Response itself', async () => {
    const binding = honoBinding({ rebuildRoutes: () => new Hono().get('/a', (c) => c.text('a')) });
    await started(binding);
    const answer = binding.handler(request('/a'));
    expect(answer).toBeInstanceOf(Response);
    expect(await (answer as Response).text()).toBe('a');
    // No route at all: Hono's own 404 path is asynchronous.
    expect((await binding.handler(request('/b'))).status).toBe(404);
  });

  it('and still awaits a built app that answers asynchronously, falling through when it does not match', async () => {
    const binding = honoBinding({
      rebuildRoutes: () =>
        new Hono()
          .use(async (c, next) => {
            await next();
            c.header('x-built', 'yes');
          })
          .get('/a', async (c) => c.text('a')),
    });
    await started(binding);
    const app = new Hono();
    app.use(binding.middleware);
    app.get('/after', (c) => c.text('after'));
    const answer = app.fetch(request('/a'));
    expect(answer).toBeInstanceOf(Promise);
    const matched = await answer;
    expect([await matched.text(), matched.headers.get('x-built')]).toEqual(['a', 'yes']);
    expect(await (await app.fetch(request('/after'))).text()).toBe('after');
    expect((await app.fetch(request('/none'))).status).toBe(404);
  });
});

describe('honoBinding fall-through', () => {
  it('marks a request unmatched for that request only: sent again after a swap, it is served', async () => {
    let builds = 0;
    const binding = honoBinding({
      rebuildRoutes: () => (builds++ === 0 ? new Hono() : new Hono().get('/new', (c) => c.text('new'))),
    });
    const { change } = await started(binding);
    const app = new Hono();
    app.use(binding.middleware);
    const again = request('/new');
    expect((await app.fetch(again)).status).toBe(404);
    await change();
    const served = await app.fetch(again);
    expect([served.status, await served.text()]).toEqual([200, 'new']);
  });
});

describe('honoBinding forwardExecutionCtx', () => {
  /** An outer app whose Context counts reads of `c.executionCtx`, and a built app that reports what it got. */
  async function counted(forwardExecutionCtx?: boolean) {
    let seen: unknown;
    const binding = honoBinding({
      ...(forwardExecutionCtx === undefined ? {} : { forwardExecutionCtx }),
      rebuildRoutes: () =>
        new Hono().get('/ctx', (c) => {
          try {
            seen = c.executionCtx;
          } catch {
            seen = 'none';
          }
          return c.text('ok');
        }),
    });
    await started(binding);
    let reads = 0;
    const app = new Hono();
    app.use((c, next) => {
      const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(c), 'executionCtx')!.get!;
      Object.defineProperty(c, 'executionCtx', {
        get(this: Context) {
          reads++;
          return getter.call(this);
        },
      });
      return next();
    });
    app.use(binding.middleware);
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} };
    const serve = async (withCtx: boolean) => {
      reads = 0;
      seen = undefined;
      const response = await (withCtx ? app.request('/ctx', {}, {}, ctx) : app.request('/ctx'));
      expect(response.status).toBe(200);
      return { seen, reads };
    };
    return { serve, ctx };
  }

  it('by default reads the outer context once and hands the built app exactly what it got', async () => {
    const { serve, ctx } = await counted();
    expect(await serve(true)).toEqual({ seen: ctx, reads: 1 });
    expect(await serve(false)).toEqual({ seen: 'none', reads: 1 });
  });

  it('false: never reads it (no thrown error per request on Node) and the built app gets none', async () => {
    const { serve } = await counted(false);
    expect(await serve(true)).toEqual({ seen: 'none', reads: 0 });
    expect(await serve(false)).toEqual({ seen: 'none', reads: 0 });
  });

  it('false: binding.handler still passes on the context it is called with', async () => {
    let seen: unknown;
    const binding = honoBinding({
      forwardExecutionCtx: false,
      rebuildRoutes: () =>
        new Hono().get('/ctx', (c) => {
          seen = c.executionCtx;
          return c.text('ok');
        }),
    });
    await started(binding);
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} };
    expect((await binding.handler(request('/ctx'), {}, ctx)).status).toBe(200);
    expect(seen).toBe(ctx);
  });

  it('rejects a value that is not a boolean', () => {
    expect(() =>
      honoBinding({ rebuildRoutes: () => new Hono(), forwardExecutionCtx: 'no' as never }),
    ).toThrow(/apphook\/hono.*forwardExecutionCtx must be true or false/);
  });
});
