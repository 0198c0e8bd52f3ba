import type { ParamNames, ParamsOf, ParamValue } from './route-pattern.js';

/** Options of a reverse URL. */
export interface UrlOptions {
  /** Appended as a query string (`URLSearchParams`); `undefined` and `null` values are left out. */
  query?: Record<string, ParamValue | boolean | readonly ParamValue[] | null | undefined>;
  /** Appended as `#fragment`, encoded. */
  hash?: string;
}

/**
 * The arguments after the name: the parameters the pattern needs (required when it has any), then options.
 * An untyped pattern (`string`) takes any parameters, checked at run time.
 */
export type UrlArgs<P extends string> = string extends P
  ? [params?: Record<string, ParamValue>, options?: UrlOptions]
  : [ParamNames<P>] extends [never]
    ? [params?: Record<string, never>, options?: UrlOptions]
    : [params: ParamsOf<P>, options?: UrlOptions];

/** Anything with a route map: an `Application`. */
export interface HasRoutes {
  readonly routes: Readonly<Record<string, string>>;
}

/** The route names of a list of applications. */
export type RouteNameOf<Apps extends readonly HasRoutes[]> = Apps[number] extends infer A
  ? A extends { routes: infer R }
    ? keyof R & string
    : never
  : never;

/**
 * A reverse name: `'<namespace>:<route>'`. The namespace comes from page rows at run time (checked then,
 * with an error naming the namespaces that exist); the route name is checked by TypeScript.
 */
export type UrlName<Apps extends readonly HasRoutes[]> = `${string}:${RouteNameOf<Apps>}`;

/** The route pattern a route name stands for in one of the applications. */
export type PatternFor<Apps extends readonly HasRoutes[], R extends string> = Apps[number] extends infer A
  ? A extends { routes: infer Routes }
    ? R extends keyof Routes
      ? Routes[R] & string
      : never
    : never
  : never;

/** The parameters of `'<namespace>:<route>'`, from the route's pattern. */
export type UrlArgsFor<Apps extends readonly HasRoutes[], N extends string> = N extends `${string}:${infer R}`
  ? UrlArgs<PatternFor<Apps, R>>
  : never;

/** Reverses names to paths from one build. */
export interface Reverser<Apps extends readonly HasRoutes[] = readonly HasRoutes[]> {
  /** The version of the build these URLs come from: the same as the router built with them (G4). */
  readonly version: number;
  /**
   * `url('news:post', { slug: 'hello' }, { query: { page: 2 } })` gives `/news/hello?page=2`. Throws
   * `ApphookUrlError` (`E_ROUTE`, `E_PARAM`) naming what exists.
   */
  url<N extends UrlName<Apps>>(name: N, ...args: UrlArgsFor<Apps, N>): string;
}
