import { ApphookOptionError, describeValue } from '@apphook/core';
import type { ApphookBuild } from './apphook-build.js';
import { type ParamsOf, type ParsedPattern, parsePattern } from './route-pattern.js';
import type { UrlArgs } from './url-types.js';

/** Route name to path pattern, relative to the page the application is attached to: `{ list: '/', post: '/:slug' }`. */
export type RouteMap = Readonly<Record<string, string>>;

/** What a route handler answers: a string is sent as HTML; an object says more. */
export type AppResult =
  | string
  | {
      /** @default 200 */
      status?: number;
      headers?: Record<string, string>;
      /** Sent as is (with `type`, default `text/html; charset=utf-8`). */
      body?: string;
      /** Sent as JSON when `body` is not given. */
      json?: unknown;
      /** The content type of `body`. */
      type?: string;
    };

/**
 * What a route handler receives, the same on every framework. `reverse` and `url` answer from the build that
 * routed this request, so a request in flight across a swap keeps linking to its own version (G4, G6).
 */
export interface AppRequest<Routes extends RouteMap, Name extends keyof Routes> {
  /** Decoded path parameters of the route. */
  params: ParamsOf<Routes[Name] & string>;
  /** The query string, decoded; a repeated key gives an array. */
  query: Record<string, string | string[]>;
  /** The version of the build that routed this request. */
  version: number;
  /** The namespace of the page this application is attached to. */
  namespace: string;
  /** The page path the application is mounted at. */
  mount: string;
  /** The route name that matched. */
  route: Name;
  /** Reverses a route of this application in this namespace (django's `current_app`): typed by its routes. */
  reverse<R extends keyof Routes & string>(route: R, ...args: UrlArgs<Routes[R] & string>): string;
  /** The build that routed this request: `build.url('other:route', ...)` reverses any namespace. */
  build: ApphookBuild;
  /** The framework's own request object (Express `req`, Fastify `request`, Koa `ctx`, Hono `c`). */
  raw: unknown;
}

export type RouteHandler<Routes extends RouteMap, Name extends keyof Routes> = (
  request: AppRequest<Routes, Name>,
) => AppResult | Promise<AppResult>;

export interface AppDefinition<Name extends string = string, Routes extends RouteMap = RouteMap> {
  /** The name page rows use in their application column (django CMS: the registered CMSApp). */
  name: Name;
  /** Every named route of the application, declared once. */
  routes: Routes;
  /** One handler per route. */
  handlers: { [K in keyof Routes]: RouteHandler<Routes, K> };
}

/** Any application, whatever its routes: what lists of applications are made of. */
export interface AnyApplication {
  readonly name: string;
  readonly routes: RouteMap;
  readonly handlers: Readonly<Record<string, (request: never) => AppResult | Promise<AppResult>>>;
  /** @internal parsed patterns by route name. */
  readonly patterns: ReadonlyMap<string, ParsedPattern>;
}

/** A registered application: its definition with its patterns parsed once. */
export interface Application<Name extends string = string, Routes extends RouteMap = RouteMap>
  extends AppDefinition<Name, Routes> {
  /** @internal parsed patterns by route name. */
  readonly patterns: ReadonlyMap<string, ParsedPattern>;
}

const APP_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const ROUTE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Declares an application (django CMS: a `CMSApp` with its `urls`). Route names and their parameters are
 * checked by TypeScript wherever the application's routes are reversed.
 *
 * ```ts
 * const blog = defineApp({
 *   name: 'blog',
 *   routes: { list: '/', post: '/:slug' },
 *   handlers: {
 *     list: ({ reverse }) => `<a href="${reverse('post', { slug: 'hello' })}">hello</a>`,
 *     post: ({ params }) => `<h1>${params.slug}</h1>`,
 *   },
 * });
 * ```
 */
export function defineApp<const Name extends string, const Routes extends RouteMap>(
  definition: AppDefinition<Name, Routes>,
): Application<Name, Routes> {
  const { name, routes, handlers } = definition ?? ({} as AppDefinition<Name, Routes>);
  if (typeof name !== 'string' || !APP_NAME.test(name)) {
    throw new ApphookOptionError(
      `[apphook/apphooks] an application name must be 1-64 characters [A-Za-z0-9_.-] starting with a letter, got ${describeValue(name)}`,
    );
  }
  if (!routes || typeof routes !== 'object' || Object.keys(routes).length === 0) {
    throw new ApphookOptionError(
      `[apphook/apphooks] application '${name}' needs routes: { list: '/', post: '/:slug' }`,
    );
  }
  const patterns = new Map<string, ParsedPattern>();
  for (const [route, pattern] of Object.entries(routes)) {
    if (!ROUTE_NAME.test(route)) {
      throw new ApphookOptionError(
        `[apphook/apphooks] application '${name}': route name ${JSON.stringify(route)} must be [A-Za-z0-9_.-] starting with a letter or _`,
      );
    }
    if (typeof handlers?.[route] !== 'function') {
      throw new ApphookOptionError(
        `[apphook/apphooks] application '${name}': route '${route}' has no handler; add handlers.${route}`,
      );
    }
    patterns.set(route, parsePattern(pattern, `application '${name}', route '${route}':`));
  }
  for (const route of Object.keys(handlers ?? {})) {
    if (!patterns.has(route)) {
      throw new ApphookOptionError(
        `[apphook/apphooks] application '${name}' has a handler for '${route}', which is not one of its routes (${[...patterns.keys()].join(', ')})`,
      );
    }
  }
  return Object.freeze({ name, routes, handlers, patterns });
}
