/**
 * Touches the public types of every package, so that `skipLibCheck: false` checks all of apphook's
 * declaration files under the app's strict settings.
 */
import type { Reloader } from '@apphook/core';
import type { ExpressBindingOptions } from '@apphook/express';
import type { FastifyBindingOptions } from '@apphook/fastify';
import type { HonoApp, HonoBindingOptions } from '@apphook/hono';
import type { KoaBindingOptions } from '@apphook/koa';
import type { afterCommit, watchEntities } from '@apphook/mikro-orm';
import type { mysqlStore } from '@apphook/mysql';
import type { ApphookModuleOptions } from '@apphook/nestjs';
import type { postgresStore } from '@apphook/postgresql';
import type { redisNotifier } from '@apphook/redis';
import type { sqliteStore } from '@apphook/sqlite';

export type Everything = [
  Reloader,
  ExpressBindingOptions,
  FastifyBindingOptions,
  HonoBindingOptions<HonoApp>,
  KoaBindingOptions,
  typeof afterCommit,
  typeof watchEntities,
  typeof mysqlStore,
  ApphookModuleOptions,
  typeof postgresStore,
  typeof redisNotifier,
  typeof sqliteStore,
];
