import { ApphookOptionError } from '@apphook/core';

/**
 * Route patterns are the one path syntax every framework shares: literal segments and whole-segment
 * parameters (`/`, `/:slug`, `/archive/:year/:month`). Express 4/5, Fastify, Koa (`@koa/router`) and Hono all
 * read `:name` segments the same way, so one description of an application serves all five frameworks.
 * Wildcards, optional and regex parameters differ between them and are refused here (see docs/apphooks.md).
 */

/** The parameter names of a pattern: `'/archive/:year/:month'` gives `'year' | 'month'`. */
export type ParamNames<P extends string> = P extends `${string}:${infer Rest}`
  ? Rest extends `${infer Name}/${infer Tail}`
    ? Name | ParamNames<`/${Tail}`>
    : Rest
  : never;

/** A parameter value: strings and numbers, encoded with `encodeURIComponent`. */
export type ParamValue = string | number;

/** The parameters a pattern needs: `{ slug: string | number }`, or `{}` for a pattern without any. */
export type ParamsOf<P extends string> = [ParamNames<P>] extends [never]
  ? Record<string, never>
  : { [K in ParamNames<P>]: ParamValue };

/** One segment of a parsed pattern. */
export type Segment = { param: false; text: string } | { param: true; name: string };

export interface ParsedPattern {
  /** The pattern as written, normalised: `'/'` or `'/a/:b'` (no trailing slash). */
  source: string;
  segments: Segment[];
  params: string[];
}

// Unreserved URL characters only: path-to-regexp (Express 5, Koa) gives ( ) { } * + ? ! meaning, and frameworks
// differ on whether they match a literal against the encoded or the decoded path.
const LITERAL = /^[A-Za-z0-9._~-]+$/;
const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

/** Parses a route pattern or a page path; throws `ApphookOptionError` saying what is allowed. */
export function parsePattern(pattern: string, what: string, allowParams = true): ParsedPattern {
  if (typeof pattern !== 'string' || !pattern.startsWith('/')) {
    throw new ApphookOptionError(
      `[apphook/apphooks] ${what} must be a path starting with '/', got ${JSON.stringify(pattern)}`,
    );
  }
  const parts = pattern === '/' ? [] : pattern.replace(/\/$/, '').slice(1).split('/');
  const segments: Segment[] = [];
  const params: string[] = [];
  for (const part of parts) {
    const param = PARAM.exec(part);
    if (param && allowParams) {
      const name = param[1]!;
      if (params.includes(name)) {
        throw new ApphookOptionError(
          `[apphook/apphooks] ${what} ${JSON.stringify(pattern)} uses the parameter ':${name}' twice`,
        );
      }
      params.push(name);
      segments.push({ param: true, name });
    } else if (LITERAL.test(part)) {
      segments.push({ param: false, text: part });
    } else {
      throw new ApphookOptionError(
        `[apphook/apphooks] ${what} ${JSON.stringify(pattern)} has the segment ${JSON.stringify(part)}: use literal segments of [A-Za-z0-9._~-]${allowParams ? " and whole-segment parameters ':name'" : ''} (no wildcards, optional or regex parameters, which each framework writes differently)`,
      );
    }
  }
  return { source: toSource(segments), segments, params };
}

/** Mounts a route pattern under a page path: `'/blog'` + `'/:slug'` gives `'/blog/:slug'`. */
export function joinPatterns(mount: ParsedPattern, route: ParsedPattern): ParsedPattern {
  const segments = [...mount.segments, ...route.segments];
  return { source: toSource(segments), segments, params: route.params };
}

function toSource(segments: Segment[]): string {
  return `/${segments.map((s) => (s.param ? `:${s.name}` : s.text)).join('/')}`;
}

/** Whether some path matches both patterns (same length, each pair of segments equal or a parameter). */
export function overlaps(a: ParsedPattern, b: ParsedPattern): boolean {
  if (a.segments.length !== b.segments.length) return false;
  return a.segments.every((s, i) => {
    const t = b.segments[i]!;
    return s.param || t.param || s.text === t.text;
  });
}

/** Whether `pattern` has a path under `prefix` (`'/admin'` covers `/admin` and everything below it). */
export function under(pattern: ParsedPattern, prefix: ParsedPattern): boolean {
  if (pattern.segments.length < prefix.segments.length) return false;
  return prefix.segments.every((s, i) => {
    const t = pattern.segments[i]!;
    return s.param || t.param || s.text === t.text;
  });
}

/** Matches a decoded-per-segment request path; gives the decoded parameters or `undefined`. */
export function matchPattern(pattern: ParsedPattern, path: string): Record<string, string> | undefined {
  const parts = path === '/' || path === '' ? [] : path.replace(/\/$/, '').slice(1).split('/');
  if (parts.length !== pattern.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of pattern.segments.entries()) {
    const part = parts[i]!;
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (segment.param) {
      if (decoded === '') return undefined;
      params[segment.name] = decoded;
    } else if (decoded !== segment.text) {
      return undefined;
    }
  }
  return params;
}
