import { Inject } from '@nestjs/common';

/** Injects the module's `Reloader` (`null` when the module only mounts a binding you start yourself). */
export const APPHOOK_RELOADER = Symbol('APPHOOK_RELOADER');
/** Injects the binding the module mounted: `ExpressBinding`, `FastifyBinding` or `CallbackBinding`. */
export const APPHOOK_BINDING = Symbol('APPHOOK_BINDING');
/** Injects the resolved `ApphookModuleOptions`. */
export const APPHOOK_OPTIONS = Symbol('APPHOOK_OPTIONS');

/** `@InjectReloader()`: shorthand for `@Inject(APPHOOK_RELOADER)`. */
export const InjectReloader = (): PropertyDecorator & ParameterDecorator => Inject(APPHOOK_RELOADER);
/** @internal The HTTP platform the module found. */
export const APPHOOK_PLATFORM = Symbol('APPHOOK_PLATFORM');
