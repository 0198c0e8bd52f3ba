import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sqliteStore } from '@apphook/sqlite';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'apphook-sqlite-procs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('several processes on one SQLite file', () => {
  it('never loses an increment when separate processes bump concurrently', async () => {
    const file = join(dir, 'shared.sqlite');
    const tableName = 'ahs_sqlite_procs_token';
    const orm = await MikroORM.init({ entities: [], dbName: file, discovery: { warnWhenNoEntities: false } });
    const store = sqliteStore(orm, { tableName });
    try {
      await store.ensureSchema();
      const processes = 3;
      const perProcess = 25;
      await Promise.all(
        Array.from({ length: processes }, () =>
          run(
            process.execPath,
            [
              '--conditions=@apphook/source',
              '--import',
              'tsx',
              join(here, 'fixtures/bump-worker.ts'),
              file,
              tableName,
              'procs',
              String(perProcess),
            ],
            { cwd: root, timeout: 60_000 },
          ),
        ),
      );
      expect(await store.read('procs')).toBe(processes * perProcess);
    } finally {
      await store.close();
      await orm.close(true);
    }
  }, 90_000);
});
