import { runBindingSuite } from '@apphook/test-suite/binding';
import { nestSuiteApp } from './suite-app.js';

runBindingSuite({ name: 'nestjs on platform-fastify', createApp: nestSuiteApp('fastify') });
