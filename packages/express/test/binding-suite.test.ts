import { expressRouter } from '@apphook/apphooks/express';
import { runBindingSuite } from '@apphook/test-suite/binding';
import { runApphookSuite } from '@apphook/test-suite/binding-apphooks';
import express from 'express';
import { expressBinding } from '../src/index.js';
import { listen, suiteApp } from './suite-app.js';

runBindingSuite({ name: 'express 5', createApp: suiteApp(express) });

runApphookSuite({
  name: 'express 5',
  async createApp({ rebuildBuild, firstBuildWaitMs }) {
    const binding = expressBinding({
      firstBuildWaitMs,
      rebuildRoutes: async (context) => expressRouter(await rebuildBuild(context)),
    });
    const app = express();
    app.get('/static', (_req, res) => {
      res.type('text/plain').send('static');
    });
    app.use(binding.middleware);
    return { ...(await listen(app)), binding };
  },
});
