import { ApphookOptionError } from './errors.js';
import { describe } from './scope.js';

/** The options every HTTP binding shares for requests that arrive before the first build. */
export interface FirstBuildOptions {
  /**
   * How long a request that arrives before the first build waits for it, before the binding answers 503
   * with `Retry-After`. `0` answers 503 at once.
   * @default 5000
   */
  firstBuildWaitMs?: number;
  /**
   * The `Retry-After` header (seconds) of that 503.
   * @default 1
   */
  retryAfterSeconds?: number;
}

/** Validated `FirstBuildOptions`: the wait in ms and the header value, ready to send. */
export function resolveFirstBuildOptions(
  name: string,
  options: FirstBuildOptions | undefined,
): { firstBuildWaitMs: number; retryAfter: string } {
  const wait = options?.firstBuildWaitMs;
  if (wait !== undefined && (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0)) {
    throw new ApphookOptionError(
      `[${name}] firstBuildWaitMs must be a number of milliseconds >= 0, got ${describe(wait)}`,
    );
  }
  const retry = options?.retryAfterSeconds;
  if (retry !== undefined && (typeof retry !== 'number' || !Number.isFinite(retry) || retry <= 0)) {
    throw new ApphookOptionError(
      `[${name}] retryAfterSeconds must be a number of seconds > 0, got ${describe(retry)}`,
    );
  }
  return { firstBuildWaitMs: wait ?? 5000, retryAfter: String(Math.ceil(retry ?? 1)) };
}

/** The body every binding sends with its 503. */
export const NOT_READY_MESSAGE = 'Service Unavailable: routes are being built, retry shortly';
