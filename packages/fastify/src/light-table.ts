import { ApphookError } from '@apphook/core';
import type {
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  HTTPMethods,
  RouteHandlerMethod,
  RouteShorthandOptions,
} from 'fastify';
import FindMyWay from 'find-my-way';
import type { DynamicRoutesPlugin } from './fastify-build.js';

/**
 * `routing: 'light'`: the routes of one build in a find-my-way table, served by the app's own request and reply.
 * No Fastify instance per build, so a build costs about what Express's does; per-route `onRequest`,
 * `preValidation` and `preHandler` hooks and `schema` (params, querystring, headers, body, response) still work,
 * compiled on a route's first request through the app's compilers. What it gives up is in the README.
 */

type Hook = (request: FastifyRequest, reply: FastifyReply, done?: (error?: Error) => void) => unknown;
type Options = RouteShorthandOptions & {
  onRequest?: Hook | Hook[];
  preValidation?: Hook | Hook[];
  preHandler?: Hook | Hook[];
};

interface LightRoute {
  handler: RouteHandlerMethod;
  schema: FastifySchema | undefined;
  hooks: Hook[];
  preHandler: Hook[];
  /** No hooks and no schema: the handler is called at once, without `run`'s async frame (most routes). */
  direct: boolean;
  /** The path declares parameters; without, `request.params` is a fresh `{}` without copying. */
  params: boolean;
}

const NAME = 'apphook/fastify';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const PARTS = [
  ['params', 'params'],
  ['querystring', 'query'],
  ['headers', 'headers'],
  ['body', 'body'],
] as const;

const list = (hook: Hook | Hook[] | undefined): Hook[] =>
  hook === undefined ? [] : Array.isArray(hook) ? hook : [hook];

/** What the plugin of a light build receives instead of a Fastify instance: the route methods only. */
function facade(table: LightTable): object {
  const add = (
    method: HTTPMethods | HTTPMethods[],
    url: string,
    options: Options,
    handler: RouteHandlerMethod,
  ) => table.add(method, url, options, handler);
  const shorthand =
    (method: HTTPMethods | HTTPMethods[]) =>
    (url: string, options: Options | RouteHandlerMethod, handler?: RouteHandlerMethod) =>
      typeof options === 'function' ? add(method, url, {}, options) : add(method, url, options, handler!);
  const unsupported = (what: string) => () => {
    throw new ApphookError(
      'E_REBUILD',
      `[${NAME}] ${what} is not available with routing: 'light' (routes with their hooks and schemas only); use the default routing: 'instance' for plugins, decorators and instance hooks`,
    );
  };
  const api: Record<string, unknown> = {
    get: shorthand('GET'),
    head: shorthand('HEAD'),
    post: shorthand('POST'),
    put: shorthand('PUT'),
    patch: shorthand('PATCH'),
    delete: shorthand('DELETE'),
    options: shorthand('OPTIONS'),
    all: shorthand([...METHODS] as HTTPMethods[]),
    route: (o: Options & { method: HTTPMethods | HTTPMethods[]; url: string; handler: RouteHandlerMethod }) =>
      add(o.method, o.url, o, o.handler),
  };
  for (const name of [
    'register',
    'addHook',
    'decorate',
    'decorateRequest',
    'decorateReply',
    'setErrorHandler',
    'setNotFoundHandler',
    'addSchema',
    'addContentTypeParser',
  ]) {
    api[name] = unsupported(`app.${name}()`);
  }
  return api;
}

export class LightTable {
  private readonly router = FindMyWay({ ignoreTrailingSlash: false, defaultRoute: () => {} });
  readonly plugin: DynamicRoutesPlugin;

  private constructor(plugin: DynamicRoutesPlugin) {
    this.plugin = plugin;
  }

  /** Runs the build's plugin against the facade; a plugin that throws (or a duplicate route) fails the build (G5). */
  static async build(plugin: DynamicRoutesPlugin): Promise<LightTable> {
    const table = new LightTable(plugin);
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => (error ? reject(error) : resolve());
      try {
        const result = plugin(facade(table) as never, {}, done);
        if (result && typeof (result as Promise<void>).then === 'function')
          (result as Promise<void>).then(() => resolve(), reject);
        else if (plugin.length < 3) resolve();
      } catch (error) {
        reject(error);
      }
    });
    return table;
  }

  add(method: HTTPMethods | HTTPMethods[], url: string, options: Options, handler: RouteHandlerMethod): void {
    if (typeof handler !== 'function') {
      throw new ApphookError('E_REBUILD', `[${NAME}] route ${String(method)} ${url} has no handler function`);
    }
    const hooks = [...list(options.onRequest), ...list(options.preValidation)];
    // preHandler runs after validation: kept apart.
    const preHandler = list(options.preHandler);
    const route: LightRoute = {
      handler,
      schema: options.schema,
      hooks,
      preHandler,
      direct: hooks.length === 0 && preHandler.length === 0 && !options.schema,
      params: url.includes(':') || url.includes('*'),
    };
    const methods = (Array.isArray(method) ? method : [method]).map((m) => m.toUpperCase());
    this.router.on(methods as never, url, () => {}, route);
  }

  /** Serves `request` if a route of this build matches `path`; `false` when none does (the app answers 404). */
  serve(request: FastifyRequest, reply: FastifyReply, path: string): boolean {
    const found = this.router.find(request.method as never, path);
    if (!found) return false;
    const route = found.store as LightRoute;
    // A plain object, as before (find-my-way's has a null prototype).
    (request as { params: unknown }).params = route.params ? { ...found.params } : {};
    if (route.direct) callHandler(route, request, reply);
    else
      void run(route, request, reply).catch((error: unknown) => {
        if (!reply.sent) reply.send(error);
      });
    return true;
  }
}

/**
 * A route without hooks or schema: what `run` does for it (the handler's result or error is sent unless the
 * handler sent already), without an async function and its two promises per request.
 */
function callHandler(route: LightRoute, request: FastifyRequest, reply: FastifyReply): void {
  let result: unknown;
  try {
    result = (route.handler as (this: unknown, req: FastifyRequest, rep: FastifyReply) => unknown).call(
      request.server,
      request,
      reply,
    );
    if (
      result !== null &&
      (typeof result === 'object' || typeof result === 'function') &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      (result as PromiseLike<unknown>).then(
        (payload) => settle(reply, payload),
        (error: unknown) => {
          if (!reply.sent) reply.send(error);
        },
      );
      return;
    }
  } catch (error) {
    if (!reply.sent) reply.send(error);
    return;
  }
  settle(reply, result);
}

function settle(reply: FastifyReply, payload: unknown): void {
  try {
    if (payload !== undefined && !reply.sent) reply.send(payload);
  } catch (error) {
    if (!reply.sent) reply.send(error);
  }
}

function callHook(hook: Hook, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  if (hook.length >= 3) {
    return new Promise((resolve, reject) => {
      hook(request, reply, (error?: Error) => (error ? reject(error) : resolve(undefined)));
    });
  }
  return Promise.resolve(hook(request, reply));
}

async function run(route: LightRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  for (const hook of route.hooks) {
    await callHook(hook, request, reply);
    if (reply.sent) return;
  }
  const schema = route.schema as (FastifySchema & { response?: Record<string, unknown> }) | undefined;
  if (schema) {
    for (const [part, property] of PARTS) {
      const partSchema = schema[part];
      if (!partSchema) continue;
      const validate = request.compileValidationSchema(partSchema as never, part);
      const value = (request as unknown as Record<string, unknown>)[property];
      if (!validate(value)) {
        const first = validate.errors?.[0];
        const error = Object.assign(
          new Error(`${part}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`),
          {
            statusCode: 400,
            code: 'FST_ERR_VALIDATION',
            validation: validate.errors,
            validationContext: part,
          },
        );
        reply.send(error);
        return;
      }
    }
    const responses = schema.response;
    if (responses) {
      reply.serializer((payload: unknown) => {
        const code = String(reply.statusCode);
        const s = responses[code] ?? responses[`${code[0]}xx`] ?? responses.default;
        return s
          ? reply.compileSerializationSchema(s as never, code)(payload as never)
          : JSON.stringify(payload);
      });
    }
  }
  for (const hook of route.preHandler) {
    await callHook(hook, request, reply);
    if (reply.sent) return;
  }
  const result = await (
    route.handler as (this: unknown, req: FastifyRequest, rep: FastifyReply) => unknown
  ).call(request.server, request, reply);
  if (result !== undefined && !reply.sent) reply.send(result);
}
