import { ApphookOptionError, type Binding, callbackBinding, type RebuildRoutes } from '@apphook/core';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { type ApphookModuleOptions, mountPath, NAME } from './apphook-module-options.js';

/** The HTTP platform of the Nest application; `'none'` for an application context without HTTP. */
export type Platform = 'express' | 'fastify' | 'none';

export function platformOf(adapter: AbstractHttpAdapter | undefined): Platform {
  if (!adapter) return 'none';
  const type = adapter.getType();
  if (type === 'express' || type === 'fastify') return type;
  throw new ApphookOptionError(
    `[${NAME}] the HTTP platform '${type}' is not supported; use @nestjs/platform-express or @nestjs/platform-fastify, or pass binding and mount binding's handler yourself`,
  );
}

/** Makes the binding that fits the platform from `rebuildRoutes`, or takes the one given. */
export async function createPlatformBinding(
  options: ApphookModuleOptions,
  platform: Platform,
): Promise<Binding<unknown>> {
  if (options.binding) return options.binding;
  const rebuildRoutes = options.rebuildRoutes as RebuildRoutes<unknown>;
  const { firstBuildWaitMs, retryAfterSeconds } = options;
  switch (platform) {
    case 'express': {
      // Each platform's binding is an optional peer, loaded only on its platform: an Express application
      // installs neither fastify nor its types, a Fastify one not express.
      const { expressBinding } = await loadBinding('express', () => import('@apphook/express'));
      return expressBinding({
        rebuildRoutes: rebuildRoutes as Parameters<typeof expressBinding>[0]['rebuildRoutes'],
        firstBuildWaitMs,
        retryAfterSeconds,
      }) as Binding<unknown>;
    }
    case 'fastify': {
      const { fastifyBinding } = await loadBinding('fastify', () => import('@apphook/fastify'));
      type FastifyOptions = Parameters<typeof fastifyBinding>[0];
      return fastifyBinding({
        rebuildRoutes: rebuildRoutes as FastifyOptions['rebuildRoutes'],
        firstBuildWaitMs,
        retryAfterSeconds,
        instanceOptions: options.fastifyInstanceOptions as FastifyOptions['instanceOptions'],
        logger: options.logger,
      }) as Binding<unknown>;
    }
    case 'none':
      return callbackBinding({ rebuildRoutes });
  }
}

/** Imports the platform's binding package, or says which package to install (G11). */
export async function loadBinding<T>(platform: 'express' | 'fastify', load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ApphookOptionError(
      `[${NAME}] the application runs on platform-${platform}, but @apphook/${platform} is not installed: npm install @apphook/${platform} (it is an optional peer of @apphook/nestjs)`,
      { cause: error },
    );
  }
}

interface FastifyLike {
  register(plugin: unknown, options: { prefix: string }): unknown;
}

/**
 * Puts the binding's delegating handler on the platform's server. Called from `onModuleInit`: after Nest
 * registered the controllers and before its not-found handler, so controllers win over dynamic routes and
 * an unmatched dynamic path gets Nest's own 404.
 */
export function mountBinding(
  binding: Binding<unknown>,
  adapter: AbstractHttpAdapter | undefined,
  platform: Platform,
  path: string | undefined,
): void {
  if (platform === 'none' || !adapter) return;
  const at = mountPath(path);
  if (platform === 'express') {
    const middleware = (binding as { middleware?: unknown }).middleware;
    if (typeof middleware !== 'function') {
      throw new ApphookOptionError(
        `[${NAME}] the application runs on platform-express, but the binding has no middleware; pass expressBinding(...) or rebuildRoutes`,
      );
    }
    if (at === '') adapter.use(middleware);
    else adapter.use(at, middleware);
    return;
  }
  const plugin = (binding as { plugin?: unknown }).plugin;
  if (typeof plugin !== 'function') {
    throw new ApphookOptionError(
      `[${NAME}] the application runs on platform-fastify, but the binding has no plugin; pass fastifyBinding(...) or rebuildRoutes`,
    );
  }
  adapter.getInstance<FastifyLike>().register(plugin, { prefix: at });
}
