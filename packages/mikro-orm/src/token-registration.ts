import { ApphookError, createLogger, type Logger } from '@apphook/core';
import type { EntityMetadata, MikroORM } from '@mikro-orm/core';
import { DEFAULT_TABLE_NAME } from './table-name.js';

function allMetadata(orm: MikroORM): EntityMetadata[] {
  const all = orm.getMetadata().getAll() as unknown;
  if (all instanceof Map) return [...all.values()] as EntityMetadata[];
  return Object.values(all as Record<string, EntityMetadata>);
}

/** The entity to add for `tableName`, as the user writes it. */
export function tokenEntityName(tableName: string): string {
  return tableName === DEFAULT_TABLE_NAME
    ? 'ApphookToken'
    : `defineApphookToken({ tableName: '${tableName}' })`;
}

/**
 * Whether one of the ORM's entities maps to the token table. Without it `store.ensureSchema()` still creates the
 * table, but the schema generator does not know it: a later `orm.schema.update()` or a generated migration
 * drops it, and every read then fails with E_SCHEMA (G11).
 */
export function isTokenEntityRegistered(orm: MikroORM, tableName: string): boolean {
  return allMetadata(orm).some((meta) => (meta.tableName ?? meta.collection) === tableName);
}

/** Warns once per store when the token entity is missing from the ORM's entities; returns the warning. */
export function warnIfTokenEntityMissing(
  orm: MikroORM,
  tableName: string,
  where: string,
  logger: Logger | false | undefined,
): ApphookError | undefined {
  if (isTokenEntityRegistered(orm, tableName)) return undefined;
  const entity = tokenEntityName(tableName);
  const warning = new ApphookError(
    'E_SCHEMA',
    `[${where}] no entity of this MikroORM instance maps to the token table "${tableName}": add ${entity} to \`entities\` in your MikroORM config, or orm.schema.update() and generated migrations will drop the table (store.ensureSchema() alone does not protect it)`,
  );
  createLogger(logger).warn(warning.message, { error: warning });
  return warning;
}
