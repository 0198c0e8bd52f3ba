import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defineApphookToken, sqliteStore } from '@apphook/sqlite';
import { type EntityManager, MikroORM } from '@mikro-orm/sqlite';
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

describe('a write transaction while another process commits', () => {
  // SQLite cannot move a transaction's read snapshot forward: a transaction that read before another process
  // committed fails at its first write with SQLITE_BUSY ("database is locked"), at once, whatever the busy
  // timeout. One whose first statement is the bump holds the write lock from its start, so it waits (up to
  // busyTimeoutMs) instead, and the rest of it cannot fail this way. The demo's writer bumps first for this.
  it('never fails when it bumps first; reading first fails (the negative control)', async () => {
    const file = join(dir, 'heartbeats.sqlite');
    const tableName = 'ahs_sqlite_beat_token';
    const orm = await MikroORM.init({ entities: [defineApphookToken({ tableName })], dbName: file });
    const store = sqliteStore(orm, { tableName });
    await store.ensureSchema();
    const sql = (em: EntityManager, query: string) => em.execute(query);
    await sql(orm.em, 'create table beat (id integer primary key, beats integer not null)');
    await sql(orm.em, 'create table page (id integer primary key, title text not null)');
    await sql(orm.em, `insert into beat values (1, 0)`);
    await sql(orm.em, `insert into page values (1, 'a')`);
    const heartbeat = spawn(
      process.execPath,
      [
        '--conditions=@apphook/source',
        '--import',
        'tsx',
        join(here, 'fixtures/heartbeat-worker.ts'),
        file,
        tableName,
        'beat',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await Promise.race([
        once(heartbeat.stdout, 'data'),
        once(heartbeat, 'exit').then(([code]) => {
          throw new Error(`the heartbeat process exited with code ${code} before its first commit`);
        }),
      ]);
      const beats = async () =>
        Number(((await sql(orm.em, 'select beats from beat')) as Array<{ beats: number }>)[0]!.beats);
      // One page edit: read the page, give the other process a moment, write it; bump first or last.
      const edit = (bumpFirst: boolean) =>
        orm.em.fork().transactional(async (em) => {
          if (bumpFirst) await store.bump(em, 'pages');
          await sql(em, 'select title from page where id = 1');
          await new Promise((resolve) => setTimeout(resolve, 3));
          await sql(em, `update page set title = title || 'x' where id = 1`);
          if (!bumpFirst) await store.bump(em, 'pages');
        });
      const busy = (error: unknown) => /SQLITE_BUSY|database is locked/.test(String(error));

      const before = await beats();
      for (let i = 0; i < 40; i++) await edit(true);
      expect(await beats(), 'the other process kept committing').toBeGreaterThan(before);

      let failures = 0;
      for (let i = 0; i < 200 && failures === 0; i++) {
        await edit(false).catch((error: unknown) => {
          if (!busy(error)) throw error;
          failures++;
        });
      }
      expect(failures, 'reading first must meet SQLITE_BUSY under the same load').toBeGreaterThan(0);
    } finally {
      heartbeat.kill();
      await store.close();
      await orm.close(true);
    }
  }, 90_000);
});
