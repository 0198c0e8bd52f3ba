import { ApphookError } from './errors.js';

/** Scopes are primary keys (varchar(191) fits an indexed utf8mb4 column on every MySQL) and channel names. */
export const SCOPE_MAX_LENGTH = 191;
const SCOPE_PATTERN = /^[A-Za-z0-9._:-]+$/;

/**
 * Throws an `ApphookError` (`E_SCOPE`) unless `scope` is a non-empty string of at most 191 characters from
 * `[A-Za-z0-9._:-]`. Every package validates with this one function so the rule is the same everywhere.
 */
export function assertScope(scope: unknown, where = 'apphook/core'): asserts scope is string {
  if (typeof scope !== 'string' || scope.length === 0) {
    throw new ApphookError(
      'E_SCOPE',
      `[${where}] scope must be a non-empty string such as 'default' or 'tenant:42', got ${describe(scope)}`,
    );
  }
  if (scope.length > SCOPE_MAX_LENGTH) {
    throw new ApphookError(
      'E_SCOPE',
      `[${where}] scope is ${scope.length} characters long; the limit is ${SCOPE_MAX_LENGTH}. Use a shorter key, e.g. a tenant id instead of a URL`,
    );
  }
  if (!SCOPE_PATTERN.test(scope)) {
    throw new ApphookError(
      'E_SCOPE',
      `[${where}] scope ${JSON.stringify(scope.slice(0, 60))} has characters outside [A-Za-z0-9._:-]; encode it first, e.g. 'site:' + encodeURIComponent(host).replace(/%/g, '.')`,
    );
  }
}

export function isValidScope(scope: unknown): scope is string {
  return (
    typeof scope === 'string' &&
    scope.length > 0 &&
    scope.length <= SCOPE_MAX_LENGTH &&
    SCOPE_PATTERN.test(scope)
  );
}

export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}
