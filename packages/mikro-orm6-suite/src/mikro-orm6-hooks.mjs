/** Node module hooks (registered by register-mikro-orm6.mjs): see mikro-orm6-resolve.mjs. */
import { anchorUrl, mikroOrm6Specifier } from './mikro-orm6-resolve.mjs';

export async function resolve(specifier, context, nextResolve) {
  const redirected = mikroOrm6Specifier(specifier, context.parentURL);
  if (redirected) return nextResolve(redirected, { ...context, parentURL: anchorUrl });
  return nextResolve(specifier, context);
}
