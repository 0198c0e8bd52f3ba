import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyRequest, FastifyServerOptions } from 'fastify';

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;

const ROUTING = 0;
const MISSED = 1;
const ROUTED = 2;

interface Ticket {
  /** The app's request that handed this raw request to a build. */
  outer: FastifyRequest;
  state: typeof ROUTING | typeof MISSED | typeof ROUTED;
  /** The build's route handler asked for the request id or logger while `dispatch` ran (the usual case). */
  seen: boolean;
}

/**
 * What passes between the app's delegating handler and a build's fresh instance for one request: the
 * app's request (for its id and logger) and whether the build's router matched.
 */
export class Handover {
  /**
   * The ticket of the request being routed now: Fastify routes synchronously, so this serves the build's
   * `genReqId`, `childLoggerFactory` and `defaultRoute` without a WeakMap entry per request.
   */
  private routing: Ticket | undefined;
  /** Tickets of requests whose route runs after `dispatch` returned (an async constraint strategy). */
  private readonly tickets = new WeakMap<IncomingMessage, Ticket>();
  private nextId = 0;

  /**
   * Routes `req` through `route` and says whether a dynamic route matched. Fastify's router calls its
   * `defaultRoute` synchronously on a miss (no async constraint strategies), so the answer is known before
   * anything was written and the app can still answer its own 404.
   */
  dispatch(outer: FastifyRequest, route: () => void): boolean {
    const ticket: Ticket = { outer, state: ROUTING, seen: false };
    const previous = this.routing;
    this.routing = ticket;
    try {
      route();
    } finally {
      this.routing = previous;
    }
    if (ticket.state === MISSED) return false;
    ticket.state = ROUTED;
    // Not handled yet (an async constraint strategy, or genReqId and childLoggerFactory both replaced in
    // instanceOptions): keep the ticket for when the build's router gets there.
    if (!ticket.seen) this.tickets.set(outer.raw, ticket);
    return true;
  }

  private ticketOf(req: IncomingMessage): Ticket | undefined {
    const routing = this.routing;
    if (routing !== undefined && routing.outer.raw === req) return routing;
    return this.tickets.get(req);
  }

  /** The fresh instance's `routerOptions.defaultRoute`. */
  readonly defaultRoute = (req: IncomingMessage, res: ServerResponse): void => {
    const ticket = this.ticketOf(req);
    if (ticket?.state === ROUTING) {
      ticket.state = MISSED;
      return;
    }
    // A miss decided after the hand-over (an async constraint strategy): the app's reply is gone, so answer
    // the way Fastify's default 404 does.
    const body = JSON.stringify({
      message: `Route ${req.method}:${req.url} not found`,
      error: 'Not Found',
      statusCode: 404,
    });
    res.writeHead(404, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  /** The fresh instance's `genReqId`: the dynamic route sees the app's request id. */
  readonly genReqId = (req: IncomingMessage): string => {
    const ticket = this.ticketOf(req);
    if (ticket === undefined) return `apphook-${++this.nextId}`;
    ticket.seen = true;
    return ticket.outer.id;
  };

  /** The fresh instance's `childLoggerFactory`: `request.log` in a dynamic route is the app's request logger. */
  readonly childLoggerFactory: ChildLoggerFactory = (logger, bindings, options, req) =>
    this.loggerFor(req, options) ?? logger.child(bindings, options);

  loggerFor(req: IncomingMessage, options: object): FastifyBaseLogger | undefined {
    const ticket = this.ticketOf(req);
    if (ticket === undefined) return undefined;
    ticket.seen = true;
    const outer = ticket.outer;
    return Object.keys(options).length === 0 ? outer.log : outer.log.child({}, options);
  }
}
