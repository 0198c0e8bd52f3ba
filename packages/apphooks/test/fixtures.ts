import { defineApp } from '../src/index.js';

/** The blog the tests attach: a list, a post with a slug, an archive with two parameters. */
export const blog = defineApp({
  name: 'blog',
  routes: { list: '/', post: '/:slug', archive: '/archive/:year/:month' },
  handlers: {
    list: ({ reverse }) => reverse('post', { slug: 'hello' }),
    post: ({ params }) => String(params.slug),
    archive: ({ params }) => `${params.year}-${params.month}`,
  },
});

export const shop = defineApp({
  name: 'shop',
  routes: { cart: '/cart', product: '/p/:sku' },
  handlers: { cart: () => 'cart', product: ({ params }) => String(params.sku) },
});
