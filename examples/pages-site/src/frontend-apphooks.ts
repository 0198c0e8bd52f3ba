/**
 * The blog apphook on the site's two front ends: its routes and `/sitemap.xml` go into the rebuilt router of
 * each build, so they swap with the pages (G6); `/__links` is a static route that reverses from the build
 * serving the request.
 */
import { type ApphookBuild, buildOf, tagRouter, urlsOf } from '@apphook/apphooks';
import { expressRouter } from '@apphook/apphooks/express';
import { fastifyPlugin } from '@apphook/apphooks/fastify';
import type { Router } from 'express';
import type { FastifyInstance } from 'fastify';
import { type blog, sitemapUrls, sitemapXml } from './blog-app.js';
import type { Frontend, Snapshot } from './frontend.js';

type BlogBuild = ApphookBuild<readonly [typeof blog]>;

/** Paths of pages an application is attached to: the application answers there, not the plain page. */
export function attachedPaths(snapshot: Snapshot): Set<string> {
  return new Set(snapshot.apphooks?.routes.map((r) => r.mount) ?? []);
}

function plainPaths(snapshot: Snapshot): string[] {
  const attached = attachedPaths(snapshot);
  return snapshot.pages.map((p) => p.path).filter((p) => !attached.has(p));
}

function sitemap(snapshot: Snapshot, build: BlogBuild, host: string | undefined): string {
  return sitemapXml(sitemapUrls(build, plainPaths(snapshot)), `http://${host ?? 'localhost'}`);
}

/** Adds the blog and the sitemap of this build to the Express router of the same build. */
export function expressApphooks(router: Router, snapshot: Snapshot): void {
  const build = snapshot.apphooks;
  if (!build) return;
  router.get('/sitemap.xml', (req, res) => {
    res.type('application/xml').send(sitemap(snapshot, build, req.headers.host));
  });
  router.use(expressRouter(build));
  tagRouter(router, build); // urlsOf(binding) finds the build behind the router the binding serves
}

/** Registers the blog and the sitemap of this build on the build's fresh Fastify instance. */
export async function fastifyApphooks(instance: FastifyInstance, snapshot: Snapshot): Promise<void> {
  const build = snapshot.apphooks;
  if (!build) return;
  instance.get('/sitemap.xml', async (request, reply) =>
    reply.type('application/xml').send(sitemap(snapshot, build, request.headers.host)),
  );
  await instance.register(fastifyPlugin(build));
}

/** The fastify binding serves the plugin rebuildRoutes returned: tag it with the build it was made from. */
export function tagPlugin<T extends object>(plugin: T, snapshot: Snapshot): T {
  return snapshot.apphooks ? tagRouter(plugin, snapshot.apphooks) : plugin;
}

/** `GET /__links`: every URL of the build this request is served by, from a static route (404 without apphooks). */
export function linksOf(
  binding: Frontend['binding'],
  request: object,
): { version: number; urls: string[] } | undefined {
  if (!buildOf((binding as { current?: unknown }).current)) return undefined;
  const build = urlsOf<readonly [typeof blog]>(binding).forRequest(request);
  const urls: string[] = [];
  for (const namespace of build.namespaces()) {
    urls.push(build.url(`${namespace}:list`));
    urls.push(build.url(`${namespace}:post`, { slug: 'hello-world' }));
  }
  return { version: build.version, urls };
}
