import { runBindingSuite } from '@apphook/test-suite/binding';
import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
import { createApphookSuiteApp, createSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'hono', createApp: (options) => createSuiteApp(options) });

runApphookSuite({
  name: 'hono',
  createApp: async ({ rebuildBuild, firstBuildWaitMs }) =>
    createApphookSuiteApp({ rebuildBuild, firstBuildWaitMs }),
});
