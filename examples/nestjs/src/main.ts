/**
 * A NestJS app whose page routes are rebuilt from a table whenever it changes, without a restart.
 *
 *   pnpm --filter @apphook/example-nestjs start            # platform-express, http://127.0.0.1:3000
 *   pnpm --filter @apphook/example-nestjs start:fastify    # platform-fastify
 *   curl -X POST localhost:3000/admin/pages -H 'content-type: application/json' -d '{"slug":"pricing","title":"Pricing"}'
 *   curl localhost:3000/pages/pricing
 *   pnpm --filter @apphook/example-nestjs check            # self-test on both platforms: starts, changes pages, exits
 *
 * ApphookModule mounts the dynamic routes at /pages, starts the reloader on bootstrap (the first build is
 * served before listen) and stops it on shutdown.
 */
import type { Reloader } from '@apphook/core';
import { APPHOOK_RELOADER } from '@apphook/nestjs';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { appModule, type PlatformName } from './app-module.js';

const platform: PlatformName = process.argv.includes('--fastify') ? 'fastify' : 'express';
const check = process.argv.includes('--check');

const app = await NestFactory.create(
  appModule(platform),
  platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
  { logger: check ? false : ['log', 'warn', 'error'] },
);
const reloader = app.get<Reloader>(APPHOOK_RELOADER);
reloader.on('reload', ({ from, to, durationMs }) =>
  console.log(`[example] routes v${from ?? '-'} -> v${to} in ${durationMs.toFixed(1)} ms`),
);
app.enableShutdownHooks();
await app.listen(check ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1');
const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
console.log(`[example] nestjs on platform-${platform} listening on ${base}`);

if (check) {
  const expectStatus = async (path: string, status: number, init?: RequestInit) => {
    const response = await fetch(`${base}${path}`, init);
    console.log(`[example] ${init?.method ?? 'GET'} ${path} -> ${response.status}`);
    if (response.status !== status) throw new Error(`expected ${status} for ${path}, got ${response.status}`);
  };
  try {
    await expectStatus('/pages/about', 200);
    await expectStatus('/pages/pricing', 404);
    await expectStatus('/admin/pages', 201, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'pricing', title: 'Pricing' }),
    });
    await expectStatus('/pages/pricing', 200);
    await expectStatus('/admin/pages/about', 204, { method: 'DELETE' });
    await expectStatus('/pages/about', 404);
    await expectStatus('/health', 200);
    console.log(`[example] check passed on platform-${platform}`);
  } finally {
    await app.close();
  }
}
