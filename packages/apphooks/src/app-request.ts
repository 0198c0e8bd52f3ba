import type { ApphookBuild, MountedRoute } from './apphook-build.js';
import type { AppRequest, AppResult, RouteMap } from './define-app.js';
import type { UrlOptions } from './url-types.js';

/** The framework-neutral request a handler receives. */
export function appRequest(
  route: MountedRoute,
  build: ApphookBuild,
  params: Record<string, string>,
  search: string,
  raw: unknown,
): AppRequest<RouteMap, string> {
  return {
    params: params as AppRequest<RouteMap, string>['params'],
    query: queryOf(search),
    version: build.version,
    namespace: route.namespace,
    mount: route.mount,
    route: route.name,
    reverse: (name: string, ...args: unknown[]) =>
      build.reverse(
        `${route.namespace}:${name}`,
        args[0] as Record<string, unknown> | undefined,
        args[1] as UrlOptions | undefined,
      ),
    build,
    raw,
  };
}

/** `?a=1&a=2&b=x` to `{ a: ['1', '2'], b: 'x' }`. */
export function queryOf(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    const seen = query[key];
    if (seen === undefined) query[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else query[key] = [seen, value];
  }
  return query;
}

/** The part of a URL after `?`, without the `?`. */
export function searchOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1).split('#', 1)[0]!;
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  type: string;
  body: string;
}

/** A handler's result as status, headers, content type and body. */
export function toReply(result: AppResult): Reply {
  if (typeof result === 'string') {
    return { status: 200, headers: {}, type: 'text/html; charset=utf-8', body: result };
  }
  const { status = 200, headers = {}, body, json, type } = result ?? {};
  if (body !== undefined) {
    return { status, headers, type: type ?? 'text/html; charset=utf-8', body: String(body) };
  }
  return {
    status,
    headers,
    type: type ?? 'application/json; charset=utf-8',
    body: json === undefined ? '' : JSON.stringify(json),
  };
}
