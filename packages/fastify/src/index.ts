export {
  type FastifyBinding,
  type FastifyBindingOptions,
  type FastifyBindingPluginOptions,
  fastifyBinding,
} from './fastify-binding.js';
export type { DynamicRoutesPlugin, FastifyBuild } from './fastify-build.js';
