/**
 * The demo's apphook: a small blog, registered in code, attached to a page by a row in the database. Moving
 * or renaming that page moves the blog's routes and every link to it, in every worker, after commit.
 */
import { type ApphookBuild, createApphooks, defineApp } from '@apphook/apphooks';

/** The posts live in code: the demo is about where the blog is mounted, not about its content. */
export const POSTS = [
  { slug: 'hello-world', title: 'Hello, world' },
  { slug: 'routes-that-follow', title: 'Routes that follow the page' },
] as const;

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const blog = defineApp({
  name: 'blog',
  routes: { list: '/', post: '/:slug' },
  handlers: {
    list: ({ reverse, version, namespace }) =>
      `<!doctype html><title>Blog</title><h1>Blog <small>(${esc(namespace)})</small></h1><ul>${POSTS.map(
        (p) => `<li><a href="${esc(reverse('post', { slug: p.slug }))}">${esc(p.title)}</a></li>`,
      ).join('')}</ul><footer>version ${version}</footer>`,
    post: ({ params, reverse, version }) => {
      const post = POSTS.find((p) => p.slug === params.slug);
      if (!post) return { status: 404, body: 'no such post', type: 'text/plain' };
      return `<!doctype html><title>${esc(post.title)}</title><h1>${esc(post.title)}</h1><p><a href="${esc(reverse('list'))}">All posts</a></p><footer>version ${version}</footer>`;
    },
  },
});

/** The site's static paths: a page attached there would collide with them, so it is skipped with an error. */
export const STATIC_PATHS = [
  '/__status',
  '/__pages',
  '/__workers',
  '/__links',
  '/__admin/*',
  '/admin',
  '/sitemap.xml',
];

export const apphooks = createApphooks({ apps: [blog], reserved: STATIC_PATHS });

/** Every URL of one version: the plain pages, each blog's list and posts (what `/sitemap.xml` lists). */
export function sitemapUrls(
  build: ApphookBuild<readonly [typeof blog]>,
  plainPaths: readonly string[],
): string[] {
  const urls = [...plainPaths];
  for (const namespace of build.namespaces()) {
    urls.push(build.reverse(`${namespace}:list`));
    for (const post of POSTS) urls.push(build.reverse(`${namespace}:post`, { slug: post.slug }));
  }
  return urls;
}

export function sitemapXml(urls: readonly string[], origin: string): string {
  const entries = urls.map((u) => `<url><loc>${esc(origin + u)}</loc></url>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${entries}</urlset>`;
}
