import { NOT_READY_MESSAGE } from '@apphook/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';

/**
 * What both routing modes share: one wildcard route on the app that hands each request to the build it acquired,
 * and the 503 answered while no first build serves.
 */
export type WildcardHandler = (request: FastifyRequest, reply: FastifyReply) => void;

/** 503 with Retry-After: no build serves yet (the first build did not land within firstBuildWaitMs). */
export function replyNotReady(reply: FastifyReply, retryAfter: string): void {
  reply.code(503).header('retry-after', retryAfter).type('text/plain; charset=utf-8').send(NOT_READY_MESSAGE);
}

/**
 * The wildcard's handler: acquires the served build (waiting up to `firstBuildWaitMs` for the first one) and
 * dispatches to it. Not async: a handler that resolves without sending makes Fastify answer; this one hands the
 * reply over.
 */
export function acquiringHandler<B>(
  acquire: () => B | undefined | Promise<B | undefined>,
  dispatch: (build: B | undefined, request: FastifyRequest, reply: FastifyReply) => void,
): WildcardHandler {
  return (request, reply) => {
    const acquired = acquire();
    if (acquired instanceof Promise) {
      acquired.then(
        (build) => dispatch(build, request, reply),
        (error: unknown) => reply.send(error),
      );
      return;
    }
    dispatch(acquired, request, reply);
  };
}

/**
 * Routes `prefix/*` (and `prefix` itself under a prefix) to `handler` for every method the app does not already
 * route there: methods the app routes on the same path (OPTIONS of @fastify/cors preflight) stay the app's.
 */
export function routeWildcard(app: FastifyInstance, handler: WildcardHandler): void {
  const prefix = app.prefix;
  const free = (url: string) =>
    app.supportedMethods.filter((method) => !app.hasRoute({ method: method as HTTPMethods, url }));
  const methods = free(`${prefix}/*`);
  if (methods.length > 0) app.route({ method: methods as HTTPMethods[], url: '/*', handler });
  const rootMethods = prefix === '' ? [] : free(prefix);
  if (rootMethods.length > 0) {
    app.route({ method: rootMethods as HTTPMethods[], url: '/', prefixTrailingSlash: 'no-slash', handler });
  }
}
