import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;
/** Fastify's `compilersFactory.buildSerializer`: (shared schemas, serializerOpts) => (route) => serialize. */
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;
type Serialize = ReturnType<ReturnType<BuildSerializer>>;

let defaultBuilder: (() => BuildSerializer) | false | undefined;

/**
 * Fastify's default serializer compiler (fast-json-stringify) compiles a response schema for every route that
 * has one, even when a thousand routes pass the same schema object: about a millisecond each, seconds for a
 * large table. Ajv, the validator compiler, already reuses a compiled schema object. This gives the fresh
 * instance the same default compiler with a cache by schema object, per set of shared schemas (`addSchema`):
 * the serializer depends only on the schema and those, so a route gets the function it would have compiled.
 * A `compilersFactory.buildSerializer` of the user's `instanceOptions` is left as it is.
 */
export function withSharedSerializers(options: FastifyServerOptions): FastifyServerOptions {
  const controller = options.schemaController;
  if (controller?.compilersFactory?.buildSerializer) return options;
  const build = sharedSerializerBuilder();
  if (!build) return options;
  return {
    ...options,
    schemaController: {
      ...controller,
      compilersFactory: { ...controller?.compilersFactory, buildSerializer: build },
    },
  };
}

function sharedSerializerBuilder(): BuildSerializer | undefined {
  if (defaultBuilder === undefined) {
    try {
      const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
      const { SerializerSelector } = requireFromFastify('@fastify/fast-json-stringify-compiler') as {
        SerializerSelector?: () => BuildSerializer;
      };
      defaultBuilder = typeof SerializerSelector === 'function' ? SerializerSelector : false;
    } catch {
      defaultBuilder = false; // Fastify's own default applies, uncached
    }
  }
  if (!defaultBuilder) return undefined;
  const selector = defaultBuilder;
  return (externalSchemas, serializerOptions) => {
    const compile = selector()(externalSchemas, serializerOptions);
    const compiled = new WeakMap<object, Serialize>();
    return (route) => {
      const schema: unknown = route.schema;
      if (typeof schema !== 'object' || schema === null) return compile(route);
      let serialize = compiled.get(schema);
      if (!serialize) {
        serialize = compile(route);
        compiled.set(schema, serialize);
      }
      return serialize;
    };
  };
}
