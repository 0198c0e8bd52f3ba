import { BigIntType, EntitySchema } from '@mikro-orm/core';

/** One row of the fleet table: one process's announcement for one scope. */
export interface ApphookFleetRow {
  scope: string;
  id: string;
  /** The announcement, JSON. */
  payload: string;
  /** Milliseconds since the epoch after which the row is dead (no time zone to get wrong). */
  expiresAt: number;
}

export const DEFAULT_FLEET_TABLE = 'apphook_fleet';

/**
 * The fleet table for a custom table name: add `defineApphookFleet({ tableName })` to `entities` so your
 * migrations create the table that `sqlFleetBackend(orm, { tableName })` writes.
 */
export function defineApphookFleet(
  options: { tableName?: string; name?: string } = {},
): EntitySchema<ApphookFleetRow> {
  const tableName = options.tableName ?? DEFAULT_FLEET_TABLE;
  return new EntitySchema<ApphookFleetRow>({
    name: options.name ?? (tableName === DEFAULT_FLEET_TABLE ? 'ApphookFleet' : `ApphookFleet_${tableName}`),
    tableName,
    properties: {
      scope: { type: 'string', length: 191, primary: true, fieldName: 'scope' },
      id: { type: 'string', length: 191, primary: true, fieldName: 'id' },
      payload: { type: 'text', fieldName: 'payload' },
      expiresAt: { type: new BigIntType('number'), fieldName: 'expires_at', index: true },
    },
  });
}

/**
 * The fleet table `apphook_fleet` as a MikroORM entity, like `ApphookToken`: add it to `entities` and let your
 * migrations create it (`scope`, `id`, `payload` text, `expires_at` bigint; primary key `(scope, id)`).
 */
export const ApphookFleet: EntitySchema<ApphookFleetRow> = defineApphookFleet();
