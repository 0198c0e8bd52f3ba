import { runBindingSuite } from '@apphook/test-suite/binding';
import { nestSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'nestjs on platform-express', createApp: nestSuiteApp('express') });
