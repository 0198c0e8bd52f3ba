import { runBindingSuite } from '@apphook/test-suite/binding';
import { createSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'hono', createApp: (options) => createSuiteApp(options) });
