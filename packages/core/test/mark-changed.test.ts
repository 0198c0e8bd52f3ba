import {
  callbackBinding,
  createReloader,
  memoryNotifier,
  memoryStore,
  type Notifier,
  runAfterCommitHooks,
} from '@apphook/core';
import { describe, expect, it } from 'vitest';

function countingNotifier() {
  const inner = memoryNotifier();
  const published: Array<[string, number]> = [];
  const notifier: Notifier & { fail: boolean } = {
    name: 'counting notifier',
    fail: false,
    async publish(scope, version) {
      if (notifier.fail) throw new Error('redis is down');
      published.push([scope, version]);
      return inner.publish(scope, version);
    },
    subscribe: (scope, listener) => inner.subscribe(scope, listener),
  };
  return { notifier, published };
}

async function setup() {
  const store = memoryStore({ logger: false });
  const { notifier, published } = countingNotifier();
  const binding = callbackBinding({ rebuildRoutes: ({ version }) => ({ version }) });
  const reloader = createReloader({ store, binding, notifier, logger: false });
  await reloader.start();
  return { store, notifier, published, binding, reloader };
}

describe('markChanged: bump in the transaction, push after the outermost commit (G1, G2)', () => {
  it('serves the new version in this process by the time the transaction resolves', async () => {
    const { store, reloader, binding } = await setup();
    await store.transaction((tx) => reloader.markChanged(tx));
    expect(reloader.version).toBe(1);
    expect(binding.current).toEqual({ version: 1 });
    await reloader.stop();
  });

  it('publishes once per root transaction and scope however many times markChanged was called', async () => {
    const { store, reloader, published } = await setup();
    await store.transaction(async (tx) => {
      await reloader.markChanged(tx);
      await reloader.markChanged(tx);
      await tx.savepoint(async (sp) => {
        await reloader.markChanged(sp);
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(published).toEqual([['default', 3]]);
    expect(await store.read('default')).toBe(3);
    await reloader.stop();
  });

  it('publishes nothing and changes nothing when the transaction rolls back', async () => {
    const { store, reloader, published } = await setup();
    await expect(
      store.transaction(async (tx) => {
        await reloader.markChanged(tx);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(published).toEqual([]);
    expect(await store.read('default')).toBe(0);
    expect(reloader.version).toBe(0);
    await reloader.stop();
  });

  it('publishes nothing for a rolled-back savepoint whose parent commits nothing else', async () => {
    const { store, reloader, published } = await setup();
    await store.transaction(async (tx) => {
      await tx
        .savepoint(async (sp) => {
          await reloader.markChanged(sp);
          throw new Error('undo');
        })
        .catch(() => {});
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(published).toEqual([]);
    expect(await store.read('default')).toBe(0);
    await reloader.stop();
  });

  it('a failing publish never makes the committed transaction reject; it is reported', async () => {
    const { store, reloader, notifier } = await setup();
    const errors: string[] = [];
    reloader.on('error', (e) => errors.push(e.phase));
    notifier.fail = true;
    await expect(store.transaction((tx) => reloader.markChanged(tx))).resolves.toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(errors).toEqual(['publish']);
    expect(await store.read('default')).toBe(1);
    await reloader.stop();
  });

  it('a failing local rebuild after commit never rejects the transaction; the old routes stay', async () => {
    const store = memoryStore({ logger: false });
    let fail = false;
    const binding = callbackBinding({
      rebuildRoutes: ({ version }) => {
        if (fail) throw new Error('bad route row');
        return { version };
      },
    });
    const reloader = createReloader({
      store,
      binding,
      mode: 'interval',
      logger: false,
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
    });
    await reloader.start();
    fail = true;
    await expect(store.transaction((tx) => reloader.markChanged(tx))).resolves.toBe(1);
    expect(reloader.version).toBe(0);
    expect(binding.current).toEqual({ version: 0 });
    await reloader.stop();
  });

  it('concurrent transactions never lose an increment', async () => {
    const { store, reloader } = await setup();
    await Promise.all(Array.from({ length: 50 }, () => store.transaction((tx) => reloader.markChanged(tx))));
    expect(await store.read('default')).toBe(50);
    expect(reloader.version).toBe(50);
    await reloader.stop();
  });

  it('scopes are independent: a change in one rebuilds only that scope', async () => {
    const store = memoryStore({ logger: false });
    const notifier = memoryNotifier();
    const builds: string[] = [];
    const make = (scope: string) =>
      createReloader({
        store,
        notifier,
        scope,
        logger: false,
        binding: callbackBinding({
          rebuildRoutes: ({ version }) => {
            builds.push(`${scope}@${version}`);
            return { version };
          },
        }),
      });
    const a = make('tenant:a');
    const b = make('tenant:b');
    await a.start();
    await b.start();
    builds.length = 0;
    await store.transaction((tx) => a.markChanged(tx));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(builds).toEqual(['tenant:a@1']);
    expect(b.version).toBe(0);
    await a.stop();
    await b.stop();
  });
});

describe('markChanged with a handle in no transaction (issue 13 item 6)', () => {
  it('memoryStore: markChanged(undefined) commits at once and resolves once this process serves it', async () => {
    const store = memoryStore({ logger: false });
    const binding = callbackBinding({
      rebuildRoutes: async ({ version }) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { version };
      },
    });
    const reloader = createReloader({ store, binding, mode: 'interval', logger: false });
    await reloader.start();
    await expect(reloader.markChanged(undefined)).resolves.toBe(1);
    expect(await store.read('default')).toBe(1);
    expect(reloader.version).toBe(1);
    expect(binding.current).toEqual({ version: 1 });
    await reloader.stop();
  });

  it('a store that runs after-commit hooks at once (an EntityManager in no transaction) resolves after the rebuild', async () => {
    // Like the SQL stores: bump on a handle in no transaction autocommits, and afterCommit runs the hook at once
    // without awaiting it (void runAfterCommitHooks), as `@apphook/mikro-orm`'s afterCommit does.
    const inner = memoryStore({ push: false, logger: false });
    const store = {
      name: 'autocommit store',
      read: (scope: string) => inner.read(scope),
      bump: (_tx: 'autocommit', scope: string) => inner.transaction((tx) => inner.bump(tx, scope)),
      afterCommit: (_tx: 'autocommit', hook: () => void | Promise<void>) => {
        void runAfterCommitHooks([hook], () => {});
      },
    };
    const binding = callbackBinding({
      rebuildRoutes: async ({ version }) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { version };
      },
    });
    const reloader = createReloader({ store, binding, mode: 'interval', logger: false });
    await reloader.start();
    await expect(reloader.markChanged('autocommit')).resolves.toBe(1);
    expect(reloader.version).toBe(1);
    await reloader.stop();
  });
});
