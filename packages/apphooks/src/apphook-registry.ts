import { ApphookOptionError, createLogger, describeValue, type Logger } from '@apphook/core';
import { ApphookBuild, type MountedRoute, type PageRow } from './apphook-build.js';
import type { AnyApplication, AppRequest, AppResult, RouteMap } from './define-app.js';
import { ApphookPageError, type PageProblem } from './errors.js';
import { joinPatterns, overlaps, type ParsedPattern, parsePattern, under } from './route-pattern.js';

export interface ApphooksOptions<Apps extends readonly AnyApplication[]> {
  /** The applications pages may attach (django CMS: `apphook_pool.register`). */
  apps: Apps;
  /**
   * Paths the app serves outside the rebuilt router (static routes): `'/admin'` is that exact path,
   * `'/admin/*'` that path and everything below it. A page whose routes would collide is skipped.
   * @default []
   */
  reserved?: readonly string[];
  /**
   * Where the binding's middleware or plugin is mounted (`app.use('/site', binding.middleware)`): prepended
   * to every reverse URL. Routers are built without it, as the framework strips it before they see a path.
   * @default ''
   */
  base?: string;
  /**
   * Where skipped pages are logged when no `'error'` listener is registered.
   * @default console (warn and error only)
   */
  logger?: Logger | false;
}

/** What a build needs to know: the version `rebuildRoutes` received (its label, G4). */
export interface BuildContext {
  version: number;
  scope?: string;
}

export interface Apphooks<Apps extends readonly AnyApplication[]> {
  /** The registered applications by name. */
  readonly apps: ReadonlyMap<string, AnyApplication>;
  /**
   * Turns page rows into the routes and reverse URLs of one version. Call it inside `rebuildRoutes` with
   * rows read in that build's snapshot; rows that cannot be mounted are skipped with an `'error'` event.
   * Rows are taken in the order given: when two pages claim one namespace or path, the first wins.
   */
  build(pages: Iterable<PageRow>, context: BuildContext): ApphookBuild<Apps>;
  /** `'error'`: a page row was skipped (`ApphookPageError`, code `E_PAGE`). Returns the unsubscribe. */
  on(event: 'error', listener: (error: ApphookPageError) => void): () => void;
}

const NAMESPACE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * The application registry (django CMS's apphook pool): `createApphooks({ apps: [blog, shop] })`.
 */
export function createApphooks<const Apps extends readonly AnyApplication[]>(
  options: ApphooksOptions<Apps>,
): Apphooks<Apps> {
  const apps = new Map<string, AnyApplication>();
  for (const app of options?.apps ?? []) {
    if (!app || typeof app !== 'object' || !(app.patterns instanceof Map)) {
      throw new ApphookOptionError(
        `[apphook/apphooks] apps must be applications made by defineApp(...), got ${describeValue(app)}`,
      );
    }
    if (apps.has(app.name)) {
      throw new ApphookOptionError(
        `[apphook/apphooks] two applications are named '${app.name}'; names must be unique`,
      );
    }
    apps.set(app.name, app);
  }
  if (apps.size === 0) {
    throw new ApphookOptionError('[apphook/apphooks] createApphooks needs apps: [defineApp({ ... }), ...]');
  }
  const reserved = (options.reserved ?? []).map((entry) => {
    const prefix = typeof entry === 'string' && entry.endsWith('/*');
    const path = prefix ? entry.slice(0, -2) || '/' : entry;
    return { entry, prefix, pattern: parsePattern(path, 'a reserved path') };
  });
  const base =
    options.base === undefined || options.base === '/'
      ? ''
      : parsePattern(options.base, 'base', false).source;
  const logger = createLogger(options.logger);
  const listeners = new Set<(error: ApphookPageError) => void>();

  const report = (error: ApphookPageError) => {
    if (listeners.size === 0) logger.error(error.message, { error });
    for (const listener of listeners) {
      try {
        listener(error);
      } catch (thrown) {
        logger.error('[apphook/apphooks] an error listener threw; ignored', { error: thrown });
      }
    }
  };

  const collides = (pattern: ParsedPattern) =>
    reserved.find((r) => (r.prefix ? under(pattern, r.pattern) : overlaps(pattern, r.pattern)));

  return {
    apps,
    on(_event, listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    build(pages, context) {
      const version = context?.version;
      if (typeof version !== 'number') {
        throw new ApphookOptionError(
          `[apphook/apphooks] build(pages, context) needs the RebuildContext (its version labels the URLs), got ${describeValue(context)}`,
        );
      }
      const routes: MountedRoute[] = [];
      const errors: ApphookPageError[] = [];
      const owners = new Map<string, string>();
      const skip = (problem: PageProblem, page: unknown, message: string) =>
        errors.push(
          new ApphookPageError(
            problem,
            `[apphook/apphooks] ${message}; the page is skipped, the rest serves`,
            page,
            version,
          ),
        );

      for (const page of pages) {
        const name = page?.application;
        if (name === undefined || name === null || name === '') continue; // a plain page
        const at = JSON.stringify(page.path);
        const app = apps.get(name);
        if (!app) {
          skip(
            'unknown-application',
            page,
            `the page ${at} attaches the application '${name}', which is not registered (registered: ${[...apps.keys()].join(', ')}); register it with createApphooks({ apps }) or fix the row`,
          );
          continue;
        }
        const namespace = page.namespace || app.name;
        if (!NAMESPACE.test(namespace)) {
          skip(
            'invalid',
            page,
            `the page ${at} has the namespace ${JSON.stringify(namespace)}: use [A-Za-z0-9_.-], starting with a letter or _`,
          );
          continue;
        }
        const owner = owners.get(namespace);
        if (owner !== undefined) {
          skip(
            'duplicate-namespace',
            page,
            `the page ${at} uses the namespace '${namespace}', already used by the page ${JSON.stringify(owner)}; give each page that attaches '${app.name}' its own namespace`,
          );
          continue;
        }
        let mount: ParsedPattern;
        try {
          mount = parsePattern(page.path, `the page path`, false);
        } catch (error) {
          skip('invalid', page, (error as Error).message.replace('[apphook/apphooks] ', ''));
          continue;
        }
        const mounted = [...app.patterns].map(([route, pattern]) => ({
          route,
          pattern: joinPatterns(mount, pattern),
        }));
        const problem = firstCollision(mounted, collides, routes);
        if (problem) {
          skip('collision', page, `the application '${app.name}' at ${at}: ${problem}`);
          continue;
        }
        owners.set(namespace, page.path);
        for (const { route, pattern } of mounted) {
          routes.push({
            namespace,
            name: route,
            application: app,
            mount: mount.source,
            path: pattern.source,
            pattern,
            handler: app.handlers[route] as (
              request: AppRequest<RouteMap, string>,
            ) => AppResult | Promise<AppResult>,
          });
        }
      }
      for (const error of errors) report(error);
      return new ApphookBuild<Apps>(version, context.scope, routes, errors, base);
    },
  };
}

function firstCollision(
  mounted: Array<{ route: string; pattern: ParsedPattern }>,
  collides: (pattern: ParsedPattern) => { entry: string } | undefined,
  taken: readonly MountedRoute[],
): string | undefined {
  for (const { route, pattern } of mounted) {
    const hit = collides(pattern);
    if (hit) return `its route '${route}' (${pattern.source}) collides with the static route '${hit.entry}'`;
    const other = taken.find((t) => overlaps(t.pattern, pattern));
    if (other) {
      return `its route '${route}' (${pattern.source}) collides with '${other.namespace}:${other.name}' (${other.path})`;
    }
  }
  return undefined;
}
