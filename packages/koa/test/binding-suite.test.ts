import { runBindingSuite } from '@apphook/test-suite/binding';
import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
import { createApphookSuiteApp, createSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'koa', createApp: (options) => createSuiteApp(options) });

runApphookSuite({
  name: 'koa',
  createApp: async ({ rebuildBuild, firstBuildWaitMs }) =>
    createApphookSuiteApp({ rebuildBuild, firstBuildWaitMs }),
});
