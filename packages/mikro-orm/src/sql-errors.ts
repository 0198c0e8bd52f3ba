import {
  ConnectionException,
  DeadlockException,
  LockWaitTimeoutException,
  TableNotFoundException,
} from '@mikro-orm/core';

interface DriverErrorFields {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Follows `cause` links: MikroORM wraps driver errors, and the stores wrap MikroORM's. */
function* chain(error: unknown): Generator<DriverErrorFields> {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    yield current as DriverErrorFields;
    current = (current as DriverErrorFields).cause;
  }
}

/**
 * The token table does not exist: MikroORM's `TableNotFoundException`, or the raw driver error when it was not
 * converted (Postgres 42P01, MySQL/MariaDB 1146, SQLite "no such table").
 */
export function isMissingTableError(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e instanceof TableNotFoundException) return true;
    if (e.code === '42P01' || e.code === 'ER_NO_SUCH_TABLE' || e.errno === 1146) return true;
    if (typeof e.message === 'string' && /no such table/i.test(e.message)) return true;
  }
  return false;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  '57P01', // admin_shutdown
  '08006', // connection_failure
  '08001', // unable to connect
]);

export function isConnectionError(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e instanceof ConnectionException) return true;
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  }
  return false;
}

// Errors a caller's retry wrapper expects to see as they are (G11): serialization failure and deadlock
// (Postgres 40001, 40P01), lock timeout (Postgres 55P03, MySQL/MariaDB 1205), deadlock (MySQL/MariaDB 1213),
// and SQLite's busy database.
const RETRYABLE_CODES = new Set([
  '40001',
  '40P01',
  '55P03',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'SQLITE_BUSY',
]);
const RETRYABLE_ERRNOS = new Set([1205, 1213]);

/**
 * A database error the caller may retry: the transaction lost a race (serialization failure, deadlock) or
 * waited too long for a lock. Matches MikroORM's `DeadlockException` and `LockWaitTimeoutException` and the raw
 * driver codes under them.
 */
export function isRetryableError(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e instanceof DeadlockException || e instanceof LockWaitTimeoutException) return true;
    if (typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) return true;
    if (typeof e.errno === 'number' && RETRYABLE_ERRNOS.has(e.errno)) return true;
  }
  return false;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
