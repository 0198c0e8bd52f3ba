import type { AnyApplication, AppRequest, AppResult, RouteMap } from './define-app.js';
import { type ApphookPageError, ApphookUrlError } from './errors.js';
import { matchPattern, type ParsedPattern } from './route-pattern.js';
import type { HasRoutes, Reverser, UrlArgsFor, UrlName, UrlOptions } from './url-types.js';

/** One page row: where an application is attached, and under which namespace. */
export interface PageRow {
  /** The page path the application is mounted at: `'/blog'` (no parameters). */
  path: string;
  /** A registered application name; rows without one are plain pages and are left alone. */
  application?: string | null;
  /** The instance namespace (django CMS `application_namespace`). @default the application name */
  namespace?: string | null;
}

/** One route of one attached application, at its full path. */
export interface MountedRoute {
  namespace: string;
  /** Route name within the application. */
  name: string;
  application: AnyApplication;
  /** The page path it is mounted under. */
  mount: string;
  /** The full pattern, `'/blog/:slug'`: every framework's router takes it as is. */
  path: string;
  /** @internal */
  pattern: ParsedPattern;
  handler: (request: AppRequest<RouteMap, string>) => AppResult | Promise<AppResult>;
}

/** What `match()` finds: the route and its decoded parameters. */
export interface RouteMatch {
  route: MountedRoute;
  params: Record<string, string>;
}

/**
 * The routes and reverse URLs of one version: built once per `rebuildRoutes`, turned into the framework's
 * router, and swapped with it. Immutable, so a request holding it keeps answering from its version (G6).
 */
export class ApphookBuild<Apps extends readonly HasRoutes[] = readonly HasRoutes[]>
  implements Reverser<Apps>
{
  readonly version: number;
  readonly scope: string | undefined;
  /** Every mounted route, in page order then route order. */
  readonly routes: readonly MountedRoute[];
  /** Page rows skipped in this build, and why. */
  readonly errors: readonly ApphookPageError[];
  /** Prepended to every reverse URL: where the binding is mounted (`app.use('/site', ...)`). */
  readonly base: string;
  private readonly byNamespace: ReadonlyMap<string, ReadonlyMap<string, MountedRoute>>;

  constructor(
    version: number,
    scope: string | undefined,
    routes: MountedRoute[],
    errors: ApphookPageError[],
    base = '',
  ) {
    this.version = version;
    this.base = base;
    this.scope = scope;
    this.routes = Object.freeze(routes);
    this.errors = Object.freeze(errors);
    const byNamespace = new Map<string, Map<string, MountedRoute>>();
    for (const route of routes) {
      let names = byNamespace.get(route.namespace);
      if (!names) {
        names = new Map();
        byNamespace.set(route.namespace, names);
      }
      names.set(route.name, route);
    }
    this.byNamespace = byNamespace;
    Object.freeze(this);
  }

  /** The namespaces attached in this build. */
  namespaces(): string[] {
    return [...this.byNamespace.keys()];
  }

  /** The application attached under `namespace`, or `undefined`. */
  applicationOf(namespace: string): string | undefined {
    const first = this.byNamespace.get(namespace)?.values().next().value;
    return first?.application.name;
  }

  url<N extends UrlName<Apps>>(name: N, ...args: UrlArgsFor<Apps, N>): string {
    const [params, options] = args as [Record<string, unknown> | undefined, UrlOptions | undefined];
    return this.reverse(name, params, options);
  }

  /** `url()` without the types: for names that come from data. */
  reverse(name: string, params?: Record<string, unknown>, options?: UrlOptions): string {
    const route = this.lookup(name);
    return this.base + fill(route, name, params ?? {}, this.version) + suffix(options);
  }

  /** Which route of this build a path (as sent, percent-encoded) reaches, like django's `resolve()`. */
  match(path: string): RouteMatch | undefined {
    let pathname = path.split(/[?#]/, 1)[0] ?? '';
    if (this.base) {
      if (pathname !== this.base && !pathname.startsWith(`${this.base}/`)) return undefined;
      pathname = pathname.slice(this.base.length) || '/';
    }
    for (const route of this.routes) {
      const params = matchPattern(route.pattern, pathname);
      if (params) return { route, params };
    }
    return undefined;
  }

  /** The URLs of every route without parameters (a sitemap's entries), in page order. */
  paths(): string[] {
    return this.routes.filter((r) => r.pattern.params.length === 0).map((r) => this.base + r.path);
  }

  private lookup(name: string): MountedRoute {
    const at = typeof name === 'string' ? name.indexOf(':') : -1;
    if (at <= 0) {
      throw new ApphookUrlError(
        'E_ROUTE',
        `[apphook/apphooks] reverse URL names are 'namespace:route', got ${JSON.stringify(name)}`,
        String(name),
        this.version,
      );
    }
    const namespace = name.slice(0, at);
    const routeName = name.slice(at + 1);
    const names = this.byNamespace.get(namespace);
    if (!names) {
      const known = this.namespaces();
      throw new ApphookUrlError(
        'E_ROUTE',
        `[apphook/apphooks] no page attaches the namespace '${namespace}' in version ${this.version}; ${known.length ? `namespaces: ${known.join(', ')}` : 'no application is attached to any page'}`,
        name,
        this.version,
      );
    }
    const route = names.get(routeName);
    if (!route) {
      throw new ApphookUrlError(
        'E_ROUTE',
        `[apphook/apphooks] the application '${this.applicationOf(namespace)}' (namespace '${namespace}') has no route '${routeName}'; routes: ${[...names.keys()].join(', ')}`,
        name,
        this.version,
      );
    }
    return route;
  }
}

function fill(route: MountedRoute, name: string, params: Record<string, unknown>, version: number): string {
  const { pattern } = route;
  const expected = pattern.params;
  const fail = (what: string) =>
    new ApphookUrlError(
      'E_PARAM',
      `[apphook/apphooks] ${name} (${route.path}) ${what}; it takes ${expected.length ? expected.map((p) => `'${p}'`).join(', ') : 'no parameters'}`,
      name,
      version,
    );
  if (typeof params !== 'object' || params === null) throw fail(`got parameters ${String(params)}`);
  for (const key of Object.keys(params)) {
    if (!expected.includes(key)) throw fail(`got the unknown parameter '${key}'`);
  }
  const parts = pattern.segments.map((segment) => {
    if (!segment.param) return segment.text;
    const value = params[segment.name];
    if (value === undefined || value === null) throw fail(`is missing the parameter '${segment.name}'`);
    const valid =
      (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value));
    if (!valid) {
      throw fail(
        `got ${JSON.stringify(value) ?? typeof value} for '${segment.name}' (a non-empty string or a finite number)`,
      );
    }
    // Encoded as a whole segment: '/', '?', '#' and '%' in a value can never change the path's shape.
    return encodeURIComponent(String(value));
  });
  return `/${parts.join('/')}`;
}

function suffix(options: UrlOptions | undefined): string {
  let out = '';
  if (options?.query) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query)) {
      if (value === undefined || value === null) continue;
      if (Array.isArray(value)) for (const item of value) search.append(key, String(item));
      else search.append(key, String(value));
    }
    const text = search.toString();
    if (text) out += `?${text}`;
  }
  if (options?.hash) out += `#${encodeURIComponent(options.hash)}`;
  return out;
}
