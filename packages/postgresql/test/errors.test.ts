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
});
