import {
  type AfterCommitHook,
  type AfterCommitOptions,
  type HintListener,
  type MemoryTransaction,
  memoryStore,
  type Subscription,
  type TokenStore,
} from '@apphook/core';

/** The memory store, wrapped so the suite can count and hold reads (G7) and choose whether it pushes. */
export interface SuiteStore extends TokenStore<MemoryTransaction> {
  /** Store reads so far. */
  readonly reads: number;
  /** While set, every read waits for it. */
  gate: Promise<void> | undefined;
  /** A commit made outside this process's reloader: "another process changed the rows". */
  commitElsewhere(scope?: string): Promise<number>;
  transaction<T>(fn: (tx: MemoryTransaction) => Promise<T> | T): Promise<T>;
}

export function suiteStore(options: { push: boolean }): SuiteStore {
  const inner = memoryStore({ push: options.push, logger: false });
  let reads = 0;
  const store: SuiteStore = {
    name: 'apphook/test-suite store',
    gate: undefined,
    get reads() {
      return reads;
    },
    async read(scope) {
      reads++;
      if (store.gate) await store.gate;
      return inner.read(scope);
    },
    bump: (tx, scope) => inner.bump(tx, scope),
    afterCommit(tx: MemoryTransaction, hook: AfterCommitHook, hookOptions?: AfterCommitOptions) {
      inner.afterCommit?.(tx, hook, hookOptions);
    },
    transaction: (fn) => inner.transaction(fn),
    commitElsewhere: (scope = 'default') => inner.transaction((tx) => inner.bump(tx, scope)),
  };
  if (options.push) {
    store.subscribe = (scope: string, listener: HintListener): Promise<Subscription> =>
      inner.subscribe!(scope, listener);
  }
  return store;
}
