import { defineConfig } from 'vitepress';

export default defineConfig({
  title: 'apphook',
  description: 'Rebuild database-defined routes in every process, after commit, without a restart.',
  cleanUrls: true,
  srcExclude: ['**/node_modules/**', 'README.md'],
  ignoreDeadLinks: [/^\.\.\/packages\//, /^\.\.\/\.\.\//, /^\/api\//],
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/getting-started' },
      { text: 'API', link: '/api/' },
    ],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Getting started', link: '/getting-started' },
          { text: 'Examples', link: '/examples' },
          { text: 'Concepts and guarantees', link: '/concepts' },
          { text: 'Guarantees and how they are tested', link: '/guarantees' },
          { text: 'Transactions and afterCommit', link: '/transactions' },
          { text: 'Apphooks and reverse URLs', link: '/apphooks' },
          { text: 'Moving from django CMS', link: '/django-cms' },
        ],
      },
      {
        text: 'Stores',
        items: [
          { text: 'Choosing and setting up a store', link: '/stores' },
          { text: 'MikroORM 6 and 7', link: '/mikro-orm-versions' },
        ],
      },
      {
        text: 'Push channels',
        items: [
          { text: 'Postgres LISTEN/NOTIFY', link: '/channels/postgres' },
          { text: 'Redis', link: '/channels/redis' },
        ],
      },
      {
        text: 'Bindings',
        items: [
          { text: 'Express', link: '/bindings/express' },
          { text: 'Fastify', link: '/bindings/fastify' },
          { text: 'Koa', link: '/bindings/koa' },
          { text: 'Hono', link: '/bindings/hono' },
          { text: 'NestJS', link: '/bindings/nestjs' },
        ],
      },
      {
        text: 'Operations',
        items: [
          { text: 'Operations', link: '/operations' },
          { text: 'Fleet view', link: '/operations#fleet-view-which-process-serves-what' },
          { text: 'Metrics and tracing', link: '/operations#metrics-and-tracing' },
          { text: 'Troubleshooting', link: '/troubleshooting' },
          { text: 'Benchmarks', link: '/benchmarks' },
        ],
      },
      { text: 'API reference', link: '/api/' },
    ],
  },
});
