import { ApphookOptionError } from '@apphook/core';

/** The token table every store uses unless told otherwise. */
export const DEFAULT_TABLE_NAME = 'apphook_token';

// A plain identifier that needs no quoting on PostgreSQL (63 bytes), MySQL (64) or SQLite: the name ends up in
// DDL and in every statement, so only a name that cannot carry SQL is accepted (G11).
const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Throws an `ApphookOptionError` unless `tableName` is a plain SQL identifier of at most 63 characters. */
export function assertTableName(tableName: unknown, where: string): asserts tableName is string {
  if (typeof tableName !== 'string' || !TABLE_NAME_PATTERN.test(tableName)) {
    throw new ApphookOptionError(
      `[${where}] tableName must be a plain identifier of 1 to 63 characters from [A-Za-z0-9_] that does not start with a digit, such as 'apphook_token', got ${typeof tableName === 'string' ? JSON.stringify(tableName.slice(0, 80)) : typeof tableName}`,
    );
  }
}
