import {
  AfterCommitQueue,
  callbackBinding,
  createReloader,
  type MemoryTransaction,
  memoryStore,
  runAfterCommitHooks,
} from '@apphook/core';
import { describe, expect, it } from 'vitest';

describe('memoryStore transactions', () => {
  it('an uncommitted bump is invisible to read', async () => {
    const store = memoryStore();
    await store.transaction(async (tx) => {
      expect(await store.bump(tx, 's')).toBe(1);
      expect(await store.read('s')).toBe(0);
    });
    expect(await store.read('s')).toBe(1);
  });

  it('a released savepoint followed by an outer rollback leaves the version and runs no hook', async () => {
    const store = memoryStore();
    const ran: string[] = [];
    await store
      .transaction(async (tx) => {
        await tx.savepoint(async (sp) => {
          await store.bump(sp, 's');
          store.afterCommit(sp, () => void ran.push('inner'));
        });
        throw new Error('outer rollback');
      })
      .catch(() => {});
    expect(await store.read('s')).toBe(0);
    expect(ran).toEqual([]);
  });

  it('a rolled-back savepoint then an outer commit leaves the version and drops its hooks', async () => {
    const store = memoryStore();
    const ran: string[] = [];
    await store.transaction(async (tx) => {
      store.afterCommit(tx, () => void ran.push('outer'));
      await tx
        .savepoint(async (sp) => {
          await store.bump(sp, 's');
          store.afterCommit(sp, () => void ran.push('inner'));
          throw new Error('undo savepoint');
        })
        .catch(() => {});
    });
    expect(await store.read('s')).toBe(0);
    expect(ran).toEqual(['outer']);
  });

  it('hooks run once, after commit, in registration order', async () => {
    const store = memoryStore();
    const ran: string[] = [];
    await store.transaction(async (tx) => {
      store.afterCommit(tx, () => void ran.push('a'));
      await tx.savepoint(async (sp) => {
        store.afterCommit(sp, () => void ran.push('b'));
      });
      store.afterCommit(tx, () => void ran.push('c'));
      expect(ran).toEqual([]);
    });
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('a hook that throws is reported and the others still run; the transaction resolves', async () => {
    const errors: unknown[] = [];
    const store = memoryStore({ logger: { warn() {}, error: (_m, meta) => errors.push(meta?.error) } });
    const ran: string[] = [];
    await expect(
      store.transaction(async (tx) => {
        store.afterCommit(tx, () => {
          throw new Error('hook bug');
        });
        store.afterCommit(tx, () => void ran.push('second'));
        return 'ok';
      }),
    ).resolves.toBe('ok');
    expect(ran).toEqual(['second']);
    expect(errors).toHaveLength(1);
  });

  it('rejects a transaction handle after it ended', async () => {
    const store = memoryStore();
    let leaked: Parameters<Parameters<typeof store.transaction>[0]>[0] | undefined;
    await store.transaction((tx) => {
      leaked = tx;
    });
    await expect(store.bump(leaked!, 's')).rejects.toMatchObject({ code: 'E_STATE' });
  });
});

describe('AfterCommitQueue', () => {
  it('keyed hooks run once: the last surviving registration, in the place of the first', async () => {
    const queue = new AfterCommitQueue();
    const ran: string[] = [];
    queue.begin();
    queue.add(() => void ran.push('k1'), { key: 'k' });
    queue.add(() => void ran.push('plain'));
    queue.begin(); // savepoint
    queue.add(() => void ran.push('k2'), { key: 'k' });
    queue.release();
    queue.begin(); // savepoint rolled back: its k3 must not replace k2
    queue.add(() => void ran.push('k3'), { key: 'k' });
    queue.rollback();
    await runAfterCommitHooks(queue.commit(), () => {});
    expect(ran).toEqual(['k2', 'plain']);
    expect(queue.depth).toBe(0);
  });

  it('treats savepoints still open at the root commit as released', async () => {
    const queue = new AfterCommitQueue();
    const ran: string[] = [];
    queue.begin();
    queue.add(() => void ran.push('root'));
    queue.begin(); // a savepoint whose release the driver never reported
    queue.add(() => void ran.push('inner'));
    await runAfterCommitHooks(queue.commit(), () => {});
    expect(ran).toEqual(['root', 'inner']);
  });

  it('refuses to queue outside a transaction', () => {
    expect(() => new AfterCommitQueue().add(() => {})).toThrow(/outside a transaction/);
  });
});

describe('memoryStore options and snapshots', () => {
  it('push: false exposes no subscribe, so a reloader polls by default (issue 13 item 7)', async () => {
    const store = memoryStore({ push: false });
    expect('subscribe' in store).toBe(false);
    const reloader = createReloader({
      store,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) }),
      logger: false,
    });
    expect(reloader.mode).toBe('interval');
    await reloader.start();
    expect(reloader.version).toBe(0);
    await reloader.stop();
  });

  it('readSnapshot hands one version and a read view that keeps it while later commits land (G4)', async () => {
    const store = memoryStore();
    await store.transaction((tx) => store.bump(tx, 's'));
    const seen = await store.readSnapshot('s', async ({ version, em }) => {
      await store.transaction((tx) => store.bump(tx, 's')); // a commit lands during the build
      return { version, rows: em.version('s') };
    });
    expect(seen).toEqual({ version: 1, rows: 1 });
    expect(await store.read('s')).toBe(2);
  });

  it('a snapshot is read only and ends with its build', async () => {
    const store = memoryStore();
    let leaked: MemoryTransaction | undefined;
    await expect(
      store.readSnapshot('s', async ({ em }) => {
        leaked = em;
        return store.bump(em, 's');
      }),
    ).rejects.toMatchObject({ code: 'E_STATE' });
    expect(leaked?.closed).toBe(true);
    expect(await store.read('s')).toBe(0);
  });

  it('markChanged-style autocommit: bump(undefined) commits at once and pushes a hint', async () => {
    const store = memoryStore();
    const hints: string[] = [];
    await store.subscribe?.('s', { hint: (s) => void hints.push(s), resync() {}, down() {} });
    expect(await store.bump(undefined, 's')).toBe(1);
    expect(await store.read('s')).toBe(1);
    await Promise.resolve();
    expect(hints).toEqual(['s']);
  });
});
