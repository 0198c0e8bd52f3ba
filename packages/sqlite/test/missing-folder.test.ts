import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApphookError } from '@apphook/core';
import { sqliteStore } from '@apphook/sqlite';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'apphook-sqlite-missing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a database file in a folder that does not exist', () => {
  it('names the file and the missing folder, and says to create it, on read, ensureSchema and readSnapshot', async () => {
    const folder = join(dir, 'not', 'there');
    const file = join(folder, 'app.sqlite');
    const orm = new MikroORM({ entities: [], dbName: file, discovery: { warnWhenNoEntities: false } });
    const store = sqliteStore(orm, { logger: false });
    try {
      for (const attempt of [
        () => store.read('default'),
        () => store.ensureSchema(),
        () => store.readSnapshot('default', async (snap) => snap.version),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ApphookError);
        expect(error).toMatchObject({ code: 'E_CONNECTION' });
        const message = (error as Error).message;
        expect(message).toMatch(/^\[apphook\/sqlite\] /);
        expect(message).toContain(`"${file}"`);
        expect(message).toContain(`folder "${folder}" does not exist`);
        expect(message).toContain('mkdir -p');
      }
    } finally {
      await store.close();
      await orm.close(true);
    }
  });
});
