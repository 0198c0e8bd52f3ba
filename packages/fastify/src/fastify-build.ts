import type { ServerResponse } from 'node:http';
import type { Logger } from '@apphook/core';
import type { FastifyInstance, FastifyPluginOptions } from 'fastify';

/**
 * What `rebuildRoutes` returns: a Fastify plugin, `async (app) => { app.get(...) }` (or callback style with
 * `done`), that registers the dynamic routes on a fresh instance.
 */
export type DynamicRoutesPlugin = (
  instance: FastifyInstance,
  options: FastifyPluginOptions,
  done: (error?: Error) => void,
) => void | Promise<void>;

/** The routes one build serves. `reloader.current` is this object. */
export interface FastifyBuild {
  /**
   * The fresh, ready Fastify instance this build made: its routes, hooks, schemas, decorators and error
   * handler are the dynamic part. Never listening; requests reach it through `instance.routing()`.
   */
  readonly instance: FastifyInstance;
  /** The mount prefix its routes were registered under (`''` at the root). */
  readonly prefix: string;
  /** The plugin `rebuildRoutes` returned for this build. */
  readonly plugin: DynamicRoutesPlugin;
}

/**
 * One build and its in-flight count. A swapped-out build is closed (its `onClose` hooks run) only once
 * the last request routed to it has finished (G6).
 */
export class Build implements FastifyBuild {
  instance: FastifyInstance;
  prefix: string;
  readonly plugin: DynamicRoutesPlugin;
  /** Set while the plugin is registered again under the mount prefix; requests wait for it. */
  remounting: Promise<void> | undefined;
  private inflight = 0;
  private retired = false;
  private closing: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(plugin: DynamicRoutesPlugin, prefix: string, instance: FastifyInstance, logger: Logger) {
    this.plugin = plugin;
    this.prefix = prefix;
    this.instance = instance;
    this.logger = logger;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** A request is routed to this build; it counts as in flight until its response closes. */
  enter(res: ServerResponse): void {
    this.inflight++;
    res.once('close', this.release);
  }

  /** The request `enter()` counted did not match a dynamic route after all. */
  leave(res: ServerResponse): void {
    res.off('close', this.release);
    this.release();
  }

  private readonly release = (): void => {
    this.inflight--;
    if (this.retired && this.inflight === 0) void this.close();
  };

  /** No new request will reach this build. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    // A request that acquired this build in the same tick as the swap still dispatches to it: wait a turn.
    setImmediate(() => {
      if (this.inflight === 0) void this.close();
    });
  }

  close(): Promise<void> {
    this.closing ??= closeQuietly(this.instance, this.logger);
    return this.closing;
  }
}

export async function closeQuietly(instance: FastifyInstance, logger: Logger): Promise<void> {
  try {
    await instance.close();
  } catch (error) {
    // An onClose hook of the user's plugin threw: nothing to recover, and it must not reach the caller (G5).
    logger.warn('[apphook/fastify] closing the Fastify instance of a swapped-out build failed', { error });
  }
}
