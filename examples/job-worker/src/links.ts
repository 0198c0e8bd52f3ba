import type { EntityManager } from '@mikro-orm/core';
import { Page } from './db.js';

/** What the worker rebuilds after every committed change: page key -> current path. */
export interface LinkTable {
  version: number;
  paths: ReadonlyMap<string, { path: string; title: string }>;
}

/** Reads the pages once per version (the `rebuildRoutes` of this worker), never once per job. */
export async function buildLinkTable(em: EntityManager, version: number): Promise<LinkTable> {
  const pages = await em.find(Page, {}, { orderBy: { key: 'asc' } });
  return { version, paths: new Map(pages.map((p) => [p.key, { path: p.path, title: p.title }])) };
}

/** A job: the weekly digest e-mail. Links to pages by key; a page that no longer exists is left out. */
export function renderDigest(
  links: LinkTable,
  recipient: string,
  baseUrl = 'https://example.com',
): { text: string; urls: string[] } {
  const urls: string[] = [];
  const lines = [`To: ${recipient}`, 'Subject: This week at Example', ''];
  for (const key of ['pricing', 'changelog', 'careers', 'events']) {
    const page = links.paths.get(key);
    if (!page) continue;
    urls.push(`${baseUrl}${page.path}`);
    lines.push(`  ${page.title}: ${baseUrl}${page.path}`);
  }
  lines.push('', `(links from routes version ${links.version})`);
  return { text: lines.join('\n'), urls };
}
