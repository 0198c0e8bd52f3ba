/**
 * Where workspace source finds MikroORM 6 in this package's tests. The sources of @apphook/* live next to
 * MikroORM 7 (the workspace default), so their `@mikro-orm/*` imports are redirected to this package's own
 * MikroORM 6 copies: by the Vite plugin in vitest (mikro-orm6-vite.ts) and by a Node module hook in worker
 * processes (mikro-orm6-hooks.mjs). Imports from inside node_modules are left alone: MikroORM 6 resolves its
 * own packages. Plain JavaScript: the Node hook runs before tsx is loaded.
 */
import { fileURLToPath } from 'node:url';

/** A file in this package: resolving from it finds this package's node_modules. */
export const anchorUrl = new URL('../package.json', import.meta.url).href;
export const anchorPath = fileURLToPath(anchorUrl);

/**
 * Package names as the workspace source writes them (MikroORM 7) -> the MikroORM 6 package to load. The SQL
 * layer is `@mikro-orm/knex` in 6; the harness's SQLite driver is `@mikro-orm/better-sqlite` (the one 6 driver
 * apphook's SQLite store is built around).
 */
const renames = { sql: 'knex', sqlite: 'better-sqlite' };

/** The specifier to resolve from `anchorUrl` instead, or `undefined` to leave `specifier` alone. */
export function mikroOrm6Specifier(specifier, importer) {
  const match = /^@mikro-orm\/([^/]+)(\/.*)?$/.exec(specifier);
  if (!match || !importer || importer.includes('/node_modules/')) return undefined;
  const name = renames[match[1]] ?? match[1];
  return `@mikro-orm/${name}${match[2] ?? ''}`;
}
