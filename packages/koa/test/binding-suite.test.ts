import { runBindingSuite } from '@apphook/test-suite/binding';
import { createSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'koa', createApp: (options) => createSuiteApp(options) });
