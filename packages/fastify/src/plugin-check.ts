import { ApphookError, describeValue } from '@apphook/core';
import type { DynamicRoutesPlugin } from './fastify-build.js';

const NAME = 'apphook/fastify';

function describe(value: unknown): string {
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { routing?: unknown }).routing === 'function'
  ) {
    return 'a Fastify instance (return a plugin function instead: the binding makes the instance)';
  }
  return describeValue(value);
}

/** What rebuildRoutes returned, as the plugin both routing modes build from, or E_REBUILD saying what to return. */
export function pluginOf(built: unknown, version: number): DynamicRoutesPlugin {
  if (typeof built !== 'function') {
    throw new ApphookError(
      'E_REBUILD',
      `[${NAME}] rebuildRoutes must return a Fastify plugin, async (app) => { app.get(...) }, got ${describe(built)} for version ${version}`,
    );
  }
  return built as DynamicRoutesPlugin;
}
