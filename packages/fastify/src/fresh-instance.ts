import type { Logger } from '@apphook/core';
import Fastify, {
  type FastifyInstance,
  type FastifyPluginCallback,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { batchBoot } from './batched-boot.js';
import { closeQuietly, type DynamicRoutesPlugin } from './fastify-build.js';
import type { Handover } from './handover.js';
import { withSharedSerializers } from './shared-serializers.js';

/**
 * Makes the fresh Fastify instance of one build: registers the user's plugin under the mount prefix and
 * waits for `ready()`, so a plugin that throws fails the build and the last good routes keep serving (G5).
 */
export async function freshInstance(
  plugin: DynamicRoutesPlugin,
  prefix: string,
  serverOptions: FastifyServerOptions | undefined,
  handover: Handover,
  signal: AbortSignal,
  logger: Logger,
): Promise<FastifyInstance> {
  const { routerOptions, ...rest } = serverOptions ?? {};
  const instance = Fastify(
    withSharedSerializers({
      // The app already logs each request; the fresh instance logs through the app's request logger.
      logger: false,
      logController: new LogController({ disableRequestLogging: true }),
      childLoggerFactory: handover.childLoggerFactory,
      genReqId: handover.genReqId,
      ...rest,
      // Never listening and closed only once idle, so it must never answer 503 for closing (G6).
      return503OnClosing: false,
      routerOptions: { ...routerOptions, defaultRoute: handover.defaultRoute },
    }),
  );
  batchBoot(instance);
  try {
    await instance.register(plugin as FastifyPluginCallback, { prefix });
    await instance.ready();
  } catch (error) {
    await closeQuietly(instance, logger);
    throw error;
  }
  if (signal.aborted) {
    // The reloader gave up on this build (timeout or stop): its late result is never served.
    await closeQuietly(instance, logger);
    throw signal.reason;
  }
  return instance;
}
