import { ApphookModule } from '@apphook/nestjs';
import { Module } from '@nestjs/common';
import express from 'express';
import type { FastifyInstance } from 'fastify';
import { AdminController } from './admin-controller.js';
import { PagesModule, PagesTable, store } from './pages.js';

export type PlatformName = 'express' | 'fastify';

function html(title: string, version: number): string {
  return `<h1>${title}</h1><p>routes version ${version}</p>`;
}

/** The dynamic routes of one build, in the form the platform's binding takes. */
function pageRoutes(platform: PlatformName, rows: Array<[string, string]>, version: number) {
  if (platform === 'express') {
    const router = express.Router(); // a fresh router every build
    for (const [slug, title] of rows)
      router.get(`/${slug}`, (_req, res) => void res.type('html').send(html(title, version)));
    return router;
  }
  // A plugin, registered on a fresh Fastify instance per build.
  return async (app: FastifyInstance) => {
    for (const [slug, title] of rows) {
      app.get(`/${slug}`, async (_request, reply) => reply.type('text/html').send(html(title, version)));
    }
  };
}

export function appModule(platform: PlatformName) {
  @Module({
    imports: [
      PagesModule,
      ApphookModule.forRootAsync({
        imports: [PagesModule],
        inject: [PagesTable],
        useFactory: (pages: PagesTable) => ({
          store,
          mode: 'push',
          path: '/pages',
          rebuildRoutes: ({ version }) => pageRoutes(platform, [...pages.rows], version),
        }),
      }),
    ],
    controllers: [AdminController],
  })
  class AppModule {}
  return AppModule;
}
