export { appRequest, queryOf, type Reply, toReply } from './app-request.js';
export { ApphookBuild, type MountedRoute, type PageRow, type RouteMatch } from './apphook-build.js';
export {
  type Apphooks,
  type ApphooksOptions,
  type BuildContext,
  createApphooks,
} from './apphook-registry.js';
export { buildOf, requestBuild, tagRequest, tagRouter } from './build-registry.js';
export {
  type AnyApplication,
  type AppDefinition,
  type Application,
  type AppRequest,
  type AppResult,
  defineApp,
  type RouteHandler,
  type RouteMap,
} from './define-app.js';
export { ApphookPageError, ApphookUrlError, type PageProblem } from './errors.js';
export type { ParamNames, ParamsOf, ParamValue, ParsedPattern, Segment } from './route-pattern.js';
export type {
  HasRoutes,
  PatternFor,
  Reverser,
  RouteNameOf,
  UrlArgs,
  UrlArgsFor,
  UrlName,
  UrlOptions,
} from './url-types.js';
export { type ServedBinding, type Urls, urlsOf } from './urls.js';
