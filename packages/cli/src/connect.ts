/** Opens a fleet backend from a `--redis` or `--db` URL; the CLI owns (and closes) these connections. */
import { ApphookOptionError } from '@apphook/core';
import type { FleetBackend } from '@apphook/fleet';

export interface Connection {
  backend: FleetBackend;
  close(): Promise<void>;
}

export interface ConnectOptions {
  redis?: string | undefined;
  db?: string | undefined;
  table?: string | undefined;
  prefix?: string | undefined;
}

export async function connect(options: ConnectOptions): Promise<Connection> {
  if (!!options.redis === !!options.db) {
    throw new ApphookOptionError('[apphook/cli] pass exactly one of --redis URL or --db URL');
  }
  if (options.redis) {
    const { Redis } = await import('ioredis');
    const { redisFleetBackend } = await import('@apphook/fleet/redis');
    const client = new Redis(options.redis, {
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      lazyConnect: true,
    });
    client.on('error', () => {});
    await client.connect();
    return {
      backend: redisFleetBackend({ client, ...(options.prefix ? { prefix: options.prefix } : {}) }),
      async close() {
        client.disconnect();
      },
    };
  }
  const url = options.db!;
  const { sqlFleetBackend } = await import('@apphook/fleet/sql');
  const common = { entities: [], discovery: { warnWhenNoEntities: false }, debug: false } as const;
  let orm: { close(force?: boolean): Promise<void> };
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    orm = await MikroORM.init({ ...common, clientUrl: url, pool: { min: 0, max: 1 } });
  } else if (/^(mysql|mariadb):\/\//.test(url)) {
    const { MikroORM } = await import('@mikro-orm/mysql');
    orm = await MikroORM.init({
      ...common,
      clientUrl: url.replace(/^mariadb:/, 'mysql:'),
      pool: { min: 0, max: 1 },
    });
  } else if (/^sqlite:|\.(sqlite3?|db)$/.test(url)) {
    const { MikroORM } = await import('@mikro-orm/sqlite');
    orm = await MikroORM.init({ ...common, dbName: url.replace(/^sqlite:(\/\/)?/, '') });
  } else {
    throw new ApphookOptionError(
      `[apphook/cli] --db must be a postgresql://, mysql://, mariadb:// or sqlite: URL (or a .sqlite file), got ${JSON.stringify(url.slice(0, 40))}`,
    );
  }
  return {
    backend: sqlFleetBackend(orm as never, options.table ? { tableName: options.table } : {}),
    close: () => orm.close(true),
  };
}
