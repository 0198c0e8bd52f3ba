/**
 * Every error apphook throws or emits is an `ApphookError` with a stable `code`, so callers can branch on
 * `error.code` instead of parsing messages. Messages name the package and say what to do.
 */
export type ApphookErrorCode =
  /** An option is missing or has a bad value. */
  | 'E_OPTION'
  /** A scope is empty, too long or has characters outside `[A-Za-z0-9._:-]`. */
  | 'E_SCOPE'
  /** The token table does not exist. */
  | 'E_SCHEMA'
  /** A server could not be reached or a connection was lost. */
  | 'E_CONNECTION'
  /** `rebuildRoutes` threw or returned nothing usable. */
  | 'E_REBUILD'
  /** `rebuildRoutes` or a store read did not finish in time. */
  | 'E_TIMEOUT'
  /** An after-commit hook threw; the transaction itself committed. */
  | 'E_HOOK'
  /** A method was called in a state that does not allow it (e.g. `markChanged` after `stop()`). */
  | 'E_STATE'
  /** `stop()` was called while `start()` was still in progress: the reloader did not start (G12). */
  | 'E_STOPPED'
  /** A push message was malformed, oversized or forged; it was ignored. */
  | 'E_MESSAGE'
  /** The store rejected an operation for a reason not covered above. */
  | 'E_STORE'
  /** Apphooks: a reverse URL named a namespace or route that the served build does not have. */
  | 'E_ROUTE'
  /** Apphooks: a reverse URL's parameters are missing, unknown or not a non-empty string or number. */
  | 'E_PARAM'
  /** Apphooks: a page row cannot be mounted (unknown application, duplicate namespace, path collision). */
  | 'E_PAGE';

export interface ApphookErrorOptions {
  cause?: unknown;
}

export class ApphookError extends Error {
  override readonly name: string = 'ApphookError';
  readonly code: ApphookErrorCode;

  constructor(code: ApphookErrorCode, message: string, options?: ApphookErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** A bad option or argument: thrown synchronously by factories, never emitted. */
export class ApphookOptionError extends ApphookError {
  override readonly name = 'ApphookOptionError';
  constructor(message: string, options?: ApphookErrorOptions) {
    super('E_OPTION', message, options);
  }
}

/** `rebuildRoutes` threw, timed out, or the first build failed in `start()`. */
export class ApphookRebuildError extends ApphookError {
  override readonly name = 'ApphookRebuildError';
  readonly version: number;
  constructor(
    code: 'E_REBUILD' | 'E_TIMEOUT',
    message: string,
    version: number,
    options?: ApphookErrorOptions,
  ) {
    super(code, message, options);
    this.version = version;
  }
}

export function isApphookError(value: unknown): value is ApphookError {
  return value instanceof ApphookError;
}

/** Wraps an unknown thrown value so events always carry an `ApphookError` with the original as `cause`. */
export function toApphookError(value: unknown, code: ApphookErrorCode, message: string): ApphookError {
  if (value instanceof ApphookError) return value;
  const detail = value instanceof Error ? value.message : String(value);
  return new ApphookError(code, `${message}: ${detail}`, { cause: value });
}
