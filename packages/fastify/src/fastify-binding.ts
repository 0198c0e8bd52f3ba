import {
  ApphookOptionError,
  type Binding,
  createBindingCore,
  createLogger,
  describeValue,
  type FirstBuildOptions,
  type Logger,
  type RebuildRoutes,
  resolveFirstBuildOptions,
  type Version,
} from '@apphook/core';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import { Build, closeQuietly, type DynamicRoutesPlugin, type FastifyBuild } from './fastify-build.js';
import { freshInstance } from './fresh-instance.js';
import { Handover } from './handover.js';
import { lightFastifyBinding } from './light-binding.js';
import { pluginOf } from './plugin-check.js';
import { acquiringHandler, replyNotReady, routeWildcard } from './wildcard.js';

export interface FastifyBindingOptions extends FirstBuildOptions {
  /**
   * Builds the dynamic routes of a version from the database and returns a Fastify plugin that registers
   * them: `async ({ version, signal }) => { const pages = await loadPages(); return async (app) => { ... } }`.
   * The plugin runs on a fresh Fastify instance per build, under the mount prefix, so route options,
   * per-route hooks, schemas, decorators and an error handler all work as in any plugin. Throw (or let the
   * plugin throw) to keep the last good routes (G5).
   */
  rebuildRoutes: RebuildRoutes<DynamicRoutesPlugin>;
  /**
   * Options of the fresh Fastify instance each build makes (`bodyLimit`, `ajv`, `routerOptions`, ...). Give it
   * the router options of your app (`ignoreTrailingSlash`, `caseSensitive`, ...) so dynamic paths match the
   * same way. `routerOptions.defaultRoute` and `return503OnClosing` are the binding's own.
   * @default { logger: false } with `request.log` and `request.id` taken from the app's request
   */
  instanceOptions?: FastifyServerOptions;
  /**
   * How a build is served. `'instance'`: a fresh Fastify instance per build, with everything a plugin can do
   * (nested plugins, decorators, instance hooks, its own error handler and parsers). `'light'`: a route table
   * served by the app's own request and reply: routes with their `onRequest`, `preValidation` and `preHandler`
   * hooks and `schema` only (compiled on first use), the app's parsers, hooks and error handler; a build costs
   * about what Express's does (10,000 routes: see docs/benchmarks.md). The plugin gets the route methods only.
   * @default 'instance'
   */
  routing?: 'instance' | 'light';
  /**
   * Where background problems (a swapped-out instance whose `onClose` hook threw) are logged.
   * @default console (warn and error only)
   */
  logger?: Logger | false;
}

/** Options of `app.register(binding.plugin, options)`. */
export interface FastifyBindingPluginOptions {
  /** The mount point: dynamic routes are registered under it, like the routes of any plugin. */
  prefix?: string;
}

export interface FastifyBinding extends Binding<FastifyBuild> {
  /**
   * Mounts the delegating handler: `app.register(binding.plugin, { prefix: '/pages' })`. Register it once;
   * static routes of the app take precedence over dynamic ones, and an unmatched dynamic path gets the
   * app's own 404.
   */
  readonly plugin: FastifyPluginAsync<FastifyBindingPluginOptions>;
  /** The build now served, `undefined` before the first. */
  readonly current: FastifyBuild | undefined;
  readonly version: Version | undefined;
}

const NAME = 'apphook/fastify';

/**
 * The Fastify 5 binding. Fastify cannot add routes after `ready`, so each build is a fresh Fastify
 * instance holding only the dynamic routes; one wildcard route of the app hands each request to the
 * instance of the current build through `instance.routing()`. A swap replaces one reference (G6).
 */
export function fastifyBinding(options: FastifyBindingOptions): FastifyBinding {
  if (!options || typeof options !== 'object') {
    throw new ApphookOptionError(`[${NAME}] fastifyBinding needs an options object: { rebuildRoutes }`);
  }
  if (options.routing !== undefined && options.routing !== 'instance' && options.routing !== 'light') {
    throw new ApphookOptionError(
      `[${NAME}] routing must be 'instance' or 'light', got ${describeValue(options.routing)}`,
    );
  }
  if (options.routing === 'light') return lightFastifyBinding(options);
  const { firstBuildWaitMs, retryAfter } = resolveFirstBuildOptions(NAME, options);
  if (
    options.instanceOptions !== undefined &&
    (typeof options.instanceOptions !== 'object' || options.instanceOptions === null)
  ) {
    throw new ApphookOptionError(`[${NAME}] instanceOptions must be Fastify server options (an object)`);
  }
  const logger = createLogger(options.logger);
  const handover = new Handover();
  let mountedPrefix: string | undefined;
  let appClosed = false;

  const instanceFor = (plugin: DynamicRoutesPlugin, prefix: string, signal: AbortSignal) =>
    freshInstance(plugin, prefix, options.instanceOptions, handover, signal, logger);

  const core = createBindingCore<Build>({
    name: NAME,
    // `prepare` turns the plugin rebuildRoutes returns into a Build.
    rebuildRoutes: options.rebuildRoutes as unknown as RebuildRoutes<Build>,
    async prepare(built, context) {
      const plugin = pluginOf(built, context.version);
      let prefix = mountedPrefix ?? '';
      let instance = await instanceFor(plugin, prefix, context.signal);
      // The app mounted the plugin while this build ran: build again under the real prefix.
      while (prefix !== (mountedPrefix ?? '')) {
        await closeQuietly(instance, logger);
        prefix = mountedPrefix ?? '';
        instance = await instanceFor(plugin, prefix, context.signal);
      }
      return new Build(plugin, prefix, instance, logger);
    },
  });

  /**
   * A build made before the mount prefix was known registers the same plugin again under it. No request
   * reaches the build meanwhile: the route did not exist yet, or `dispatch` waits for `remounting`.
   */
  const remountIfStale = (build: Build): Promise<void> => {
    if (mountedPrefix === undefined || build.prefix === mountedPrefix) return Promise.resolve();
    build.remounting ??= (async () => {
      const prefix = mountedPrefix;
      try {
        const stale = build.instance;
        build.instance = await instanceFor(build.plugin, prefix, new AbortController().signal);
        build.prefix = prefix;
        await closeQuietly(stale, logger);
        // Swapped out while remounting: nothing will close the fresh instance later.
        if (build.closed) await closeQuietly(build.instance, logger);
      } catch (error) {
        logger.error(
          `[${NAME}] registering the routes of the current build under the prefix '${prefix}' failed; they stay at the root until the next build`,
          { error },
        );
      } finally {
        build.remounting = undefined;
      }
    })();
    return build.remounting;
  };

  const dispatch = (acquired: Build | undefined, request: FastifyRequest, reply: FastifyReply): void => {
    // A build retired in the very tick this request acquired it: the current one serves instead.
    const build = acquired?.closed ? core.current : acquired;
    if (build === undefined) {
      replyNotReady(reply, retryAfter);
      return;
    }
    if (build.remounting) {
      void build.remounting.then(() => dispatch(build, request, reply));
      return;
    }
    const res = reply.raw;
    // Headers the app's hooks set (CORS, security headers) belong on the dynamic response too.
    const headers = reply.getHeaders();
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined) res.setHeader(name, value);
    }
    build.enter(res);
    const matched = handover.dispatch(request, () => build.instance.routing(request.raw, res));
    if (!matched) {
      build.leave(res);
      reply.callNotFound();
      return;
    }
    // The fresh instance answers on the raw response; the app's reply must not answer too.
    reply.hijack();
  };

  const handler = acquiringHandler(() => core.acquire(firstBuildWaitMs), dispatch);

  const plugin: FastifyPluginAsync<FastifyBindingPluginOptions> = async (app: FastifyInstance) => {
    const prefix = app.prefix;
    if (mountedPrefix !== undefined) {
      throw new ApphookOptionError(
        `[${NAME}] binding.plugin is already registered (prefix '${mountedPrefix}'); a binding serves one mount point: create one binding and reloader per mount`,
      );
    }
    mountedPrefix = prefix;
    const build = core.current;
    // The first build usually runs before the app loads this plugin, without the prefix.
    if (build) await remountIfStale(build);
    // The fresh instance parses the body with its own parsers: leave the stream unread here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    routeWildcard(app, handler);
    app.addHook('onClose', async () => {
      appClosed = true;
      await core.current?.close();
    });
  };

  const binding: FastifyBinding = {
    rebuild: (context) => core.binding.rebuild(context),
    swap(routes, info) {
      const build = routes as Build; // what rebuild() made
      const previous = core.current;
      core.binding.swap(build, info);
      if (appClosed) void build.close();
      // Prepared just before the mount, swapped in just after it.
      else void remountIfStale(build);
      if (previous && previous !== build) previous.retire();
    },
    attach: (link) => core.binding.attach?.(link),
    detach: (link) => core.binding.detach?.(link),
    plugin,
    get current() {
      return core.current;
    },
    get version() {
      return core.version;
    },
  };
  return binding;
}
