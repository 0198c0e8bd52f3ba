import type { ServerResponse } from 'node:http';
import type { DbConfig } from './db.js';
import { openFleetView } from './fleet.js';

/** The demo's `/__fleet` endpoint: the fleet of the demo scope, read from the table (or Redis) workers announce to. */
export async function demoFleetEndpoint(db: DbConfig, scope: string, redisUrl: string | undefined) {
  const { view, close } = await openFleetView(db, {}, redisUrl);
  return {
    async serve(res: ServerResponse) {
      res.setHeader('content-type', 'application/json');
      try {
        res.end(JSON.stringify(await view.fleet(scope)));
      } catch (error) {
        res.statusCode = 503;
        res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
      }
    },
    close,
  };
}
