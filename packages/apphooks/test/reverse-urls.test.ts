import { ApphookOptionError } from '@apphook/core';
import { describe, expect, it } from 'vitest';
import { ApphookUrlError, createApphooks, defineApp } from '../src/index.js';
import { blog, shop } from './fixtures.js';

const apphooks = createApphooks({ apps: [blog, shop], logger: false });
const build = apphooks.build(
  [
    { path: '/news', application: 'blog', namespace: 'news' },
    { path: '/journal', application: 'blog', namespace: 'journal' },
    { path: '/store', application: 'shop' },
  ],
  { version: 7 },
);

function thrown(fn: () => unknown): ApphookUrlError {
  try {
    fn();
  } catch (error) {
    return error as ApphookUrlError;
  }
  throw new Error('expected a throw');
}

describe('reverse URLs', () => {
  it('reverses one application attached at several pages under their own namespaces', () => {
    expect(build.url('news:list')).toBe('/news');
    expect(build.url('news:post', { slug: 'hello' })).toBe('/news/hello');
    expect(build.url('journal:post', { slug: 'hello' })).toBe('/journal/hello');
    expect(build.url('news:archive', { year: 2026, month: 11 })).toBe('/news/archive/2026/11');
    // The namespace defaults to the application name (django CMS: the app's own namespace).
    expect(build.url('shop:product', { sku: 'A-1' })).toBe('/store/p/A-1');
    expect(build.version).toBe(7);
  });

  it('encodes parameters as one segment, so a value can never change the shape of the path', () => {
    const url = build.url('news:post', { slug: '../a b/ü?x=1#y%' });
    expect(url).toBe('/news/..%2Fa%20b%2F%C3%BC%3Fx%3D1%23y%25');
    expect(build.match(url)).toMatchObject({
      route: { namespace: 'news', name: 'post' },
      params: { slug: '../a b/ü?x=1#y%' },
    });
  });

  it('adds a query string and a fragment', () => {
    expect(
      build.url('news:list', {}, { query: { page: 2, tag: ['a b', 'c'], empty: undefined }, hash: 'top' }),
    ).toBe('/news?page=2&tag=a+b&tag=c#top');
  });

  it('names the namespaces that exist when a namespace is unknown', () => {
    const error = thrown(() => build.reverse('blog:list'));
    expect(error).toBeInstanceOf(ApphookUrlError);
    expect(error.code).toBe('E_ROUTE');
    expect(error.message).toContain("namespace 'blog'");
    expect(error.message).toContain('news, journal, shop');
    expect(error.version).toBe(7);
  });

  it('names the routes that exist when a route is unknown', () => {
    const error = thrown(() => build.reverse('news:detail'));
    expect(error.code).toBe('E_ROUTE');
    expect(error.message).toContain('routes: list, post, archive');
  });

  it('rejects missing, unknown, empty and non-scalar parameters with the parameters the route takes', () => {
    for (const params of [
      {},
      { slug: '' },
      { slug: null },
      { slug: { a: 1 } },
      { slug: Number.NaN },
      { slug: 'x', extra: 1 },
    ]) {
      const error = thrown(() => build.reverse('news:post', params as Record<string, unknown>));
      expect(error.code, JSON.stringify(params)).toBe('E_PARAM');
      expect(error.message).toContain("it takes 'slug'");
    }
    expect(thrown(() => build.reverse('news', {})).code).toBe('E_ROUTE');
  });

  it('prefixes the mount point of the binding when base is set', () => {
    const mounted = createApphooks({ apps: [blog], base: '/site', logger: false }).build(
      [{ path: '/news', application: 'blog' }],
      { version: 1 },
    );
    expect(mounted.url('blog:post', { slug: 'x' })).toBe('/site/news/x');
    expect(mounted.match('/site/news/x')?.route.name).toBe('post');
    expect(mounted.match('/news/x')).toBeUndefined();
    expect(mounted.paths()).toEqual(['/site/news']);
  });

  it('checks route names and parameters at compile time', () => {
    const typed = apphooks.build([], { version: 1 });
    const call = (fn: () => unknown) => expect(fn).toThrow(ApphookUrlError);
    call(() => typed.url('news:post', { slug: 'x' }));
    call(() => typed.url('anything:list'));
    // @ts-expect-error a route no registered application has
    call(() => typed.url('news:nope'));
    // @ts-expect-error the post route needs its slug
    call(() => typed.url('news:post'));
    // @ts-expect-error archive takes year and month
    call(() => typed.url('news:archive', { year: 2026 }));
    // @ts-expect-error a parameter of another route
    call(() => typed.url('shop:product', { slug: 'x' }));
  });

  it('refuses patterns that frameworks write differently, at definition time', () => {
    for (const pattern of [
      '/*',
      '/:slug?',
      '/:id(\\d+)',
      'no-slash',
      '/a/:x/:x',
      '/a(b)',
      '/{x}',
      '/über',
      '/a+b',
    ]) {
      expect(
        () => defineApp({ name: 'bad', routes: { r: pattern }, handlers: { r: () => '' } }),
        pattern,
      ).toThrow(ApphookOptionError);
    }
    expect(() => defineApp({ name: 'bad', routes: { r: '/' }, handlers: {} as never })).toThrow(/no handler/);
  });
});
