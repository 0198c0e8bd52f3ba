import { runBindingSuite } from '@apphook/test-suite/binding';
import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
import { nestApphookSuiteApp, nestSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'nestjs on platform-express', createApp: nestSuiteApp('express') });
runApphookSuite({ name: 'nestjs on platform-express', createApp: nestApphookSuiteApp('express') });
