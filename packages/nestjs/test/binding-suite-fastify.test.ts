import { runBindingSuite } from '@apphook/test-suite/binding';
import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
import { nestApphookSuiteApp, nestSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'nestjs on platform-fastify', createApp: nestSuiteApp('fastify') });
runApphookSuite({ name: 'nestjs on platform-fastify', createApp: nestApphookSuiteApp('fastify') });
