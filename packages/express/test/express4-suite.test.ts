import { runBindingSuite } from '@apphook/test-suite/binding';
import express4 from 'express4';
import { type ExpressModule, suiteApp } from './suite-app.js';

// Express 4 has the same (req, res, next) router contract; the whole suite runs against it too.
runBindingSuite({ name: 'express 4', createApp: suiteApp(express4 as unknown as ExpressModule) });
