import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '@apphook/sqlite';
import { runStoreSuite } from '@apphook/test-suite/store';
import { MikroORM } from '@mikro-orm/better-sqlite';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'apphook-sqlite6-suite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

await runStoreSuite({
  name: 'sqlite on MikroORM 6 (@mikro-orm/better-sqlite, file, WAL)',
  prefix: 'ahs6_bsqlite',
  createOrm: (entities) => MikroORM.init({ entities, dbName: join(dir, 'suite.sqlite') }),
  createStore: (orm, options) => sqliteStore(orm, options),
});
