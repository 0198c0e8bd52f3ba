import { expressRouter } from '@apphook/apphooks/express';
import { runBindingSuite } from '@apphook/test-suite/binding';
import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
import express4 from 'express4';
import { expressBinding } from '../src/index.js';
import { type ExpressModule, listen, suiteApp } from './suite-app.js';

// Express 4 has the same (req, res, next) router contract; the whole suite runs against it too.
runBindingSuite({ name: 'express 4', createApp: suiteApp(express4 as unknown as ExpressModule) });

runApphookSuite({
  name: 'express 4',
  async createApp({ rebuildBuild, firstBuildWaitMs }) {
    const express = express4 as unknown as ExpressModule;
    const binding = expressBinding({
      firstBuildWaitMs,
      rebuildRoutes: async (context) => expressRouter(await rebuildBuild(context), { express }),
    });
    const app = express();
    app.get('/static', (_req, res) => {
      res.type('text/plain').send('static');
    });
    app.use(binding.middleware);
    return { ...(await listen(app)), binding };
  },
});
