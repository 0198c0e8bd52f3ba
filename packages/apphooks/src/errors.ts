import { ApphookError, type ApphookErrorOptions } from '@apphook/core';

/** A reverse URL that cannot be made: `E_ROUTE` (unknown namespace or route) or `E_PARAM` (bad parameters). */
export class ApphookUrlError extends ApphookError {
  override readonly name = 'ApphookUrlError';
  /** The name that was reversed, `'namespace:route'`. */
  readonly urlName: string;
  /** The version of the build that was asked. */
  readonly version: number;
  constructor(
    code: 'E_ROUTE' | 'E_PARAM',
    message: string,
    urlName: string,
    version: number,
    options?: ApphookErrorOptions,
  ) {
    super(code, message, options);
    this.urlName = urlName;
    this.version = version;
  }
}

/** Why a page row was skipped. */
export type PageProblem = 'unknown-application' | 'duplicate-namespace' | 'collision' | 'invalid';

/** A page row that cannot be mounted: it is skipped, the rest of the site serves (code `E_PAGE`). */
export class ApphookPageError extends ApphookError {
  override readonly name = 'ApphookPageError';
  readonly problem: PageProblem;
  /** The row as given to `build()`. */
  readonly page: unknown;
  /** The version of the build that skipped it. */
  readonly version: number;
  constructor(problem: PageProblem, message: string, page: unknown, version: number) {
    super('E_PAGE', message);
    this.problem = problem;
    this.page = page;
    this.version = version;
  }
}
