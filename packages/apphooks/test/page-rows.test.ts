import { describe, expect, it } from 'vitest';
import { type ApphookPageError, createApphooks } from '../src/index.js';
import { blog, shop } from './fixtures.js';

function registry(reserved: string[] = []) {
  const apphooks = createApphooks({ apps: [blog, shop], reserved, logger: false });
  const errors: ApphookPageError[] = [];
  apphooks.on('error', (error) => errors.push(error));
  return { apphooks, errors };
}

describe('page rows', () => {
  it('skips a page whose application is not registered with an error event, and the rest serves', () => {
    const { apphooks, errors } = registry();
    const build = apphooks.build(
      [
        { path: '/forum', application: 'forum' },
        { path: '/news', application: 'blog' },
        { path: '/about', application: null },
      ],
      { version: 3 },
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'E_PAGE', problem: 'unknown-application', version: 3 });
    expect(errors[0]!.message).toContain(
      "application 'forum', which is not registered (registered: blog, shop)",
    );
    expect(build.errors).toEqual(errors);
    expect(build.url('blog:list')).toBe('/news');
    expect(build.namespaces()).toEqual(['blog']);
  });

  it('keeps the first page of a namespace and skips a duplicate with an error naming both pages', () => {
    const { apphooks, errors } = registry();
    const build = apphooks.build(
      [
        { path: '/news', application: 'blog', namespace: 'news' },
        { path: '/journal', application: 'blog', namespace: 'news' },
      ],
      { version: 1 },
    );
    expect(errors.map((e) => e.problem)).toEqual(['duplicate-namespace']);
    expect(errors[0]!.message).toContain(`namespace 'news', already used by the page "/news"`);
    expect(build.url('news:list')).toBe('/news');
    expect(build.match('/journal/x')).toBeUndefined();
  });

  it('skips a page whose routes collide with a static route', () => {
    const { apphooks, errors } = registry(['/admin/*', '/sitemap.xml']);
    const build = apphooks.build(
      [
        { path: '/admin', application: 'shop' },
        { path: '/', application: 'blog' }, // '/:slug' would take /sitemap.xml
        { path: '/store', application: 'shop', namespace: 'store' },
      ],
      { version: 1 },
    );
    expect(errors.map((e) => e.problem)).toEqual(['collision', 'collision']);
    expect(errors[0]!.message).toContain("collides with the static route '/admin/*'");
    expect(errors[1]!.message).toContain("'post' (/:slug) collides with the static route");
    expect(build.namespaces()).toEqual(['store']);
  });

  it('skips a page whose routes collide with those of a page mounted before it', () => {
    const { apphooks, errors } = registry();
    apphooks.build(
      [
        { path: '/', application: 'blog' },
        { path: '/x', application: 'shop' }, // '/x/cart' and '/x/p/:sku': nothing of the blog has 2-3 segments there
        { path: '/archive', application: 'shop', namespace: 's2' }, // '/archive/p/:sku' overlaps '/archive/:year/:month'
      ],
      { version: 1 },
    );
    expect(errors.map((e) => e.problem)).toEqual(['collision']);
    expect(errors[0]!.message).toContain("collides with 'blog:archive' (/archive/:year/:month)");
  });

  it('skips pages with invalid paths or namespaces', () => {
    const { apphooks, errors } = registry();
    const build = apphooks.build(
      [
        { path: 'news', application: 'blog', namespace: 'a' },
        { path: '/news/:id', application: 'blog', namespace: 'b' },
        { path: '/news', application: 'blog', namespace: 'a:b' },
      ],
      { version: 1 },
    );
    expect(errors.map((e) => e.problem)).toEqual(['invalid', 'invalid', 'invalid']);
    expect(build.routes).toHaveLength(0);
  });

  it('lists the URLs without parameters for a sitemap', () => {
    const { apphooks } = registry();
    const build = apphooks.build(
      [
        { path: '/news', application: 'blog' },
        { path: '/store', application: 'shop' },
      ],
      { version: 1 },
    );
    expect(build.paths()).toEqual(['/news', '/store/cart']);
  });
});
