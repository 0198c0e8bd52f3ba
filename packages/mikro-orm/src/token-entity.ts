import { BigIntType, EntitySchema } from '@mikro-orm/core';
import { assertTableName, DEFAULT_TABLE_NAME } from './table-name.js';

/** One row of the token table: the version of one scope. */
export interface ApphookTokenRow {
  /** The scope, e.g. `'default'` or `'tenant:42'`. */
  scope: string;
  /** Grows by one per committed `markChanged`; `0` is never stored (a missing row reads as `0`). */
  version: number;
  updatedAt: Date;
}

export interface ApphookTokenOptions {
  /**
   * Table the entity maps to. Must match the store's `tableName`.
   * @default 'apphook_token'
   */
  tableName?: string;
  /**
   * Entity name in MikroORM's metadata. Only needed when one ORM holds two token entities.
   * @default 'ApphookToken' for the default table, `'ApphookToken_' + tableName` otherwise
   */
  name?: string;
}

/**
 * The token entity for a custom table name: add `defineApphookToken({ tableName })` to `entities` so the schema
 * generator and migrations create the table the store with the same `tableName` uses.
 */
export function defineApphookToken(options: ApphookTokenOptions = {}): EntitySchema<ApphookTokenRow> {
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  assertTableName(tableName, 'apphook/mikro-orm');
  const name =
    options.name ?? (tableName === DEFAULT_TABLE_NAME ? 'ApphookToken' : `ApphookToken_${tableName}`);
  // Column names are fixed (`fieldName`) so a naming strategy cannot rename what the stores' SQL refers to.
  return new EntitySchema<ApphookTokenRow>({
    name,
    tableName,
    properties: {
      // 191 characters fit an indexed utf8mb4 key on every MySQL; scopes are validated to that length.
      scope: { type: 'string', length: 191, primary: true, fieldName: 'scope' },
      version: { type: new BigIntType('number'), fieldName: 'version' },
      updatedAt: {
        type: 'datetime',
        fieldName: 'updated_at',
        defaultRaw: 'current_timestamp',
        onUpdate: () => new Date(),
      },
    },
  });
}

/**
 * The token table `apphook_token` as a MikroORM entity: add it to `entities` and let the schema generator or a
 * migration create the table (`scope` varchar(191) primary key, `version` bigint, `updated_at`). Defined with
 * `EntitySchema`, so it needs neither decorators nor reflect-metadata.
 */
export const ApphookToken: EntitySchema<ApphookTokenRow> = defineApphookToken();
