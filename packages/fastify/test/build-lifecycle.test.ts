import { ApphookOptionError, type ReloaderErrorEvent } from '@apphook/core';
import { type DynamicRoutesPlugin, fastifyBinding } from '@apphook/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, deferred, harness, listen, routes } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function app(): FastifyInstance {
  const instance = Fastify();
  cleanups.push(() => instance.close());
  return instance;
}

describe('build lifecycle', () => {
  it('closes a swapped-out instance only after its in-flight requests finish', async () => {
    const closed: number[] = [];
    const entered = deferred();
    const release = deferred();
    let plan =
      (version: number): DynamicRoutesPlugin =>
      async (dynamic) => {
        dynamic.addHook('onClose', async () => {
          closed.push(version);
        });
        dynamic.get('/slow', async () => {
          entered.resolve();
          await release.promise;
          return `slow from ${version}`;
        });
      };
    const binding = fastifyBinding({ rebuildRoutes: ({ version }) => plan(version) });
    const server = app();
    server.register(binding.plugin);
    const base = await listen(server);
    const h = harness(binding, cleanups);
    await h.reloader.start();

    const slow = call(base, '/slow');
    await entered.promise;
    plan = (version) => routes({ '/slow': `fast from ${version}` });
    await h.change();
    expect(await call(base, '/slow')).toMatchObject({ status: 200, body: 'fast from 1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toEqual([]);
    release.resolve();
    expect(await slow).toMatchObject({ status: 200, body: 'slow from 0' });
    await expect.poll(() => closed).toEqual([0]);
  });

  it('keeps the previous routes when the returned plugin throws while registering (G5)', async () => {
    let plan: DynamicRoutesPlugin = routes({ '/a': 'first' });
    const binding = fastifyBinding({ rebuildRoutes: () => plan });
    const server = app();
    server.register(binding.plugin);
    const base = await listen(server);
    const h = harness(binding, cleanups);
    const errors: ReloaderErrorEvent[] = [];
    h.reloader.on('error', (event) => errors.push(event));
    await h.reloader.start();

    plan = async (dynamic) => {
      dynamic.get('/b', async () => 'second');
      dynamic.get('/b', async () => 'duplicate route: Fastify rejects it at ready');
    };
    await h.change();
    expect(errors[0]).toMatchObject({ phase: 'rebuild', error: { code: 'E_REBUILD' } });
    expect(errors[0]?.error.message).toContain('/b');
    expect(h.reloader.version).toBe(0);
    expect(await call(base, '/a')).toMatchObject({ status: 200, body: 'first' });
    expect((await call(base, '/b')).status).toBe(404);
  });

  it.each(['instance', 'light'] as const)(
    'rejects a build that is not a plugin with a message that says what to return (routing: %s)',
    async (routing) => {
      const notAPlugin = app();
      const binding = fastifyBinding({
        routing,
        rebuildRoutes: () => notAPlugin as unknown as DynamicRoutesPlugin,
      });
      const h = harness(binding, cleanups);
      await expect(h.reloader.start()).rejects.toThrow(
        /\[apphook\/fastify\] rebuildRoutes must return a Fastify plugin.*got a Fastify instance/,
      );
    },
  );

  it('closes the instance it serves when the app closes', async () => {
    const closed: string[] = [];
    const binding = fastifyBinding({
      rebuildRoutes: () => async (dynamic) => {
        dynamic.addHook('onClose', async () => {
          closed.push('dynamic');
        });
      },
    });
    const server = Fastify();
    server.register(binding.plugin);
    await server.ready();
    await harness(binding, cleanups).reloader.start();
    await server.close();
    expect(closed).toEqual(['dynamic']);
  });

  it('refuses a second mount of the same binding', async () => {
    const binding = fastifyBinding({ rebuildRoutes: () => routes({}) });
    const server = app();
    server.register(binding.plugin, { prefix: '/one' });
    server.register(binding.plugin, { prefix: '/two' });
    await expect(server.ready()).rejects.toThrow(
      "[apphook/fastify] binding.plugin is already registered (prefix '/one')",
    );
  });

  it('validates its options up front', () => {
    expect(() => fastifyBinding(undefined as never)).toThrow(ApphookOptionError);
    expect(() => fastifyBinding({} as never)).toThrow(/rebuildRoutes must be a function/);
    expect(() => fastifyBinding({ rebuildRoutes: () => routes({}), firstBuildWaitMs: -1 })).toThrow(
      '[apphook/fastify] firstBuildWaitMs must be a number of milliseconds >= 0, got -1',
    );
    expect(() => fastifyBinding({ rebuildRoutes: () => routes({}), retryAfterSeconds: 0 })).toThrow(
      '[apphook/fastify] retryAfterSeconds must be a number of seconds > 0, got 0',
    );
    expect(() =>
      fastifyBinding({ rebuildRoutes: () => routes({}), instanceOptions: 'fast' as never }),
    ).toThrow(ApphookOptionError);
  });
});
