import { callbackBinding, createReloader } from '@apphook/core';
import { postgresStore } from '@apphook/postgresql';
import { MikroORM } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';

describe('errors', () => {
  it('gives E_CONNECTION with what to check when the server is unreachable', async () => {
    // Nothing listens on port 1; no shared server is touched.
    const orm = new MikroORM({
      entities: [],
      clientUrl: 'postgresql://postgres@127.0.0.1:1/test',
      discovery: { warnWhenNoEntities: false },
    });
    const store = postgresStore(orm);
    try {
      const error = await store.read('default').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_CONNECTION' });
      expect((error as Error).message).toMatch(
        /^\[apphook\/postgresql\] reading the version of scope 'default' failed: .*ECONNREFUSED.*check that the database server is running/,
      );
    } finally {
      await orm.close(true);
    }
  });

  it('in push mode an unreachable server fails start() with what to check, not with a hint to poll', async () => {
    const orm = new MikroORM({
      entities: [],
      clientUrl: 'postgresql://postgres@127.0.0.1:1/test',
      discovery: { warnWhenNoEntities: false },
    });
    const store = postgresStore(orm);
    const reloader = createReloader({
      store,
      logger: false,
      binding: callbackBinding({ rebuildRoutes: () => ({}) }),
    });
    try {
      expect(reloader.mode).toBe('push');
      const error = (await reloader.start().catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'E_CONNECTION' });
      expect(error.message).toMatch(
        /^\[apphook\/postgresql\] could not open the LISTEN connection to PostgreSQL at postgres@127\.0\.0\.1:1\/test: .*ECONNREFUSED.*Check that the server is running/,
      );
      // Polling would read the same unreachable server (issue 12): the pooler advice is for the other cause.
      expect(error.message).not.toMatch(/interval|PgBouncer/);
    } finally {
      await reloader.stop();
      await store.close();
      await orm.close(true);
    }
  });
});
