import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createApphooks, type PageRow, tagRouter, urlsOf } from '../src/index.js';
import { blog } from './fixtures.js';

const apphooks = createApphooks({ apps: [blog], logger: false });
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A job worker: a reloader on a memory store whose build is the apphooks build itself. */
async function worker(initial: PageRow[]) {
  let rows = initial;
  const store = memoryStore({ logger: false });
  const binding = callbackBinding({ rebuildRoutes: (context) => apphooks.build(rows, context) });
  const reloader = createReloader({ store, binding, logger: false });
  stops.push(() => reloader.stop());
  await reloader.start();
  return {
    binding,
    urls: urlsOf<readonly [typeof blog]>(binding),
    move: (next: PageRow[]) => {
      rows = next;
      return store.transaction((tx) => reloader.markChanged(tx));
    },
  };
}

describe('urlsOf', () => {
  it('answers from the build served now in a job worker, with its version', async () => {
    const w = await worker([{ path: '/news', application: 'blog', namespace: 'news' }]);
    expect(w.urls.url('news:post', { slug: 'a' })).toBe('/news/a');
    expect(w.urls.version).toBe(0);
    const version = await w.move([{ path: '/journal', application: 'blog', namespace: 'news' }]);
    expect(w.urls.version).toBe(version);
    expect(w.urls.current().url('news:post', { slug: 'a' })).toBe('/journal/a');
  });

  it('pins a request the rebuilt router never saw to the build current at its first call', async () => {
    const w = await worker([{ path: '/news', application: 'blog', namespace: 'news' }]);
    const request = {}; // a request on a static route
    expect(w.urls.forRequest(request).url('news:list')).toBe('/news');
    await w.move([{ path: '/journal', application: 'blog', namespace: 'news' }]);
    // The same request keeps its version; a new one gets the new build.
    expect(w.urls.forRequest(request).url('news:list')).toBe('/news');
    expect(w.urls.forRequest({}).url('news:list')).toBe('/journal');
  });

  it('throws E_STATE before the first build and for routes not made from an apphooks build', () => {
    const unbuilt = urlsOf(callbackBinding({ rebuildRoutes: () => 'x' }));
    expect(() => unbuilt.current()).toThrow(expect.objectContaining({ code: 'E_STATE' }));
    expect(unbuilt.version).toBeUndefined();
    const foreign = urlsOf({ current: () => undefined });
    expect(() => foreign.url('a:b')).toThrow(/not made from an apphooks build/);
    const router = () => undefined;
    tagRouter(router, apphooks.build([{ path: '/b', application: 'blog' }], { version: 4 }));
    expect(urlsOf({ current: router }).url('blog:list')).toBe('/b');
    // Fastify's binding serves a build object holding the plugin.
    expect(urlsOf({ current: { plugin: router } }).version).toBe(4);
  });
});
