import { createHash } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/** One page: a route `GET path` that renders `title` and `body`. */
export interface Page {
  id: number;
  path: string;
  title: string;
  body: string;
}

/** The pages entity; the table name is an option so parallel tests never share a table. */
export function definePage(tableName = 'pages'): EntitySchema<Page> {
  return new EntitySchema<Page>({
    name: tableName === 'pages' ? 'Page' : `Page_${tableName}`,
    tableName,
    properties: {
      id: { type: 'number', primary: true, autoincrement: true },
      path: { type: 'string', length: 191, unique: true },
      title: { type: 'string', length: 255 },
      body: { type: 'text' },
    },
  });
}

/** A fingerprint of a route set: equal sets of (path, title) give equal hashes, whatever the order. */
export function routeSetHash(pages: ReadonlyArray<Pick<Page, 'path' | 'title'>>): string {
  const lines = pages.map((p) => `${p.path}\t${p.title}`).sort();
  return createHash('sha1').update(lines.join('\n')).digest('hex').slice(0, 12);
}

/** A valid page path from free text: `/about-us`. */
export function slugPath(text: string): string {
  const slug = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `/${slug || 'page'}`;
}
