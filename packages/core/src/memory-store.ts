import { AfterCommitQueue, runAfterCommitHooks } from './after-commit-queue.js';
import type {
  AfterCommitHook,
  AfterCommitOptions,
  HintListener,
  Logger,
  StoreSnapshot,
  Subscription,
  TokenStore,
  Version,
} from './contracts.js';
import { ApphookError } from './errors.js';
import { createLogger } from './logger.js';
import { assertScope } from './scope.js';
import { ScopeListeners } from './scope-listeners.js';

/** The transaction handle of the in-memory store. */
export interface MemoryTransaction {
  /** Runs `fn` in a savepoint: a throw rolls back only what `fn` did, then rethrows. */
  savepoint<T>(fn: (tx: MemoryTransaction) => Promise<T> | T): Promise<T>;
  /**
   * The version of `scope` as this transaction sees it: its own uncommitted bumps included; in a
   * `readSnapshot` handle, the version as of the snapshot's start however many commits land meanwhile (G4).
   */
  version(scope: string): Version;
  /** `true` once the root committed or rolled back (or the snapshot ended); using it then throws. */
  readonly closed: boolean;
}

export interface MemoryStoreOptions {
  /**
   * Deliver hints to `subscribe`rs after each commit, like Postgres LISTEN, so `mode: 'push'` works in a
   * single process.
   * @default true
   */
  push?: boolean;
  /** Where after-commit hook errors go. @default console (warn and error only) */
  logger?: Logger | false;
}

/**
 * The transaction handle is a `MemoryTransaction`, or `undefined` for "no transaction": `bump(undefined, scope)`
 * commits at once, like a MikroORM `EntityManager` outside a transaction (autocommit).
 */
export interface MemoryStore extends TokenStore<MemoryTransaction | undefined> {
  /** Runs `fn` in a transaction: bumps apply and hooks run only if `fn` resolves. */
  transaction<T>(fn: (tx: MemoryTransaction) => Promise<T> | T): Promise<T>;
  /**
   * Exact builds (G4): `fn` gets the committed version of `scope` and a read-only `MemoryTransaction` whose
   * `version()` stays at that snapshot while later commits land; the handle ends when `fn` settles or
   * `signal` aborts.
   */
  readSnapshot<T>(
    scope: string,
    fn: (snapshot: StoreSnapshot<MemoryTransaction>) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T>;
  /** Runs `hook` after the outermost commit of `tx`, at once when `tx` is `undefined`. */
  afterCommit(tx: MemoryTransaction | undefined, hook: AfterCommitHook, options?: AfterCommitOptions): void;
  /** Committed versions, for tests and debugging. */
  snapshot(): Record<string, Version>;
}

interface TxState {
  staged: Map<string, Version>[];
  hooks: AfterCommitQueue;
  closed: boolean;
  /** Row locks held until the root ends, like `SELECT .. FOR UPDATE`: concurrent bumps never lose one (G1). */
  locks: Set<string>;
  ended: Promise<void>;
  end: () => void;
  /** Set for a `readSnapshot` handle: the committed versions when it opened; it cannot bump. */
  frozen?: Map<string, Version>;
}

/**
 * A real `TokenStore` kept in this process's memory: for single-process apps, tests and the core's own
 * unit tests. It has the same transaction semantics as the SQL stores, savepoints included.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const committed = new Map<string, Version>();
  const listeners = new ScopeListeners();
  const lockOwners = new Map<string, TxState>();
  const states = new WeakMap<MemoryTransaction, TxState>();
  const push = options.push ?? true;
  const logger = createLogger(options.logger);

  const stateOf = (tx: MemoryTransaction): TxState => {
    const state = states.get(tx);
    if (!state) {
      throw new ApphookError(
        'E_OPTION',
        '[apphook/core] memoryStore: the transaction handle does not belong to this store; pass the `tx` that store.transaction() gave you',
      );
    }
    if (state.closed) {
      throw new ApphookError('E_STATE', '[apphook/core] memoryStore: this transaction has already ended');
    }
    return state;
  };

  const visible = (state: TxState, scope: string): Version => {
    if (state.frozen) return state.frozen.get(scope) ?? 0;
    for (let i = state.staged.length - 1; i >= 0; i--) {
      const v = state.staged[i]?.get(scope);
      if (v !== undefined) return v;
    }
    return committed.get(scope) ?? 0;
  };

  const makeHandle = (state: TxState): MemoryTransaction => {
    const handle: MemoryTransaction = {
      get closed() {
        return state.closed;
      },
      version(scope) {
        assertScope(scope, 'apphook/core');
        return visible(stateOf(handle), scope);
      },
      async savepoint(fn) {
        stateOf(handle);
        state.staged.push(new Map());
        state.hooks.begin();
        try {
          const result = await fn(handle);
          const top = state.staged.pop() ?? new Map();
          const parent = state.staged.at(-1);
          for (const [scope, v] of top) parent?.set(scope, v);
          state.hooks.release();
          return result;
        } catch (error) {
          state.staged.pop();
          state.hooks.rollback();
          throw error;
        }
      },
    };
    states.set(handle, state);
    return handle;
  };

  const subscribe = async (scope: string, listener: HintListener): Promise<Subscription> => {
    assertScope(scope, 'apphook/core');
    const remove = listeners.add(scope, listener);
    return {
      async close() {
        remove();
      },
    };
  };

  const store: MemoryStore = {
    name: 'apphook/core memoryStore',

    async read(scope) {
      assertScope(scope, 'apphook/core');
      return committed.get(scope) ?? 0;
    },

    async bump(tx, scope) {
      assertScope(scope, 'apphook/core');
      // No transaction: autocommit, like an EntityManager outside a transaction.
      if (tx === undefined) return store.transaction((own) => store.bump(own, scope));
      let state = stateOf(tx);
      if (state.frozen) {
        throw new ApphookError(
          'E_STATE',
          '[apphook/core] memoryStore: a readSnapshot handle is read only; bump inside store.transaction()',
        );
      }
      for (let owner = lockOwners.get(scope); owner && owner !== state; owner = lockOwners.get(scope)) {
        await owner.ended;
        state = stateOf(tx);
      }
      lockOwners.set(scope, state);
      state.locks.add(scope);
      const next = visible(state, scope) + 1;
      state.staged.at(-1)?.set(scope, next);
      return next;
    },

    afterCommit(tx: MemoryTransaction | undefined, hook: AfterCommitHook, hookOptions?: AfterCommitOptions) {
      if (tx === undefined) {
        void runAfterCommitHooks([hook], (error) => report(error));
        return;
      }
      stateOf(tx).hooks.add(hook, hookOptions);
    },

    async transaction(fn) {
      let end = () => {};
      const ended = new Promise<void>((resolve) => {
        end = resolve;
      });
      const state: TxState = {
        staged: [new Map()],
        hooks: new AfterCommitQueue(),
        closed: false,
        locks: new Set(),
        ended,
        end,
      };
      const finish = () => {
        state.closed = true;
        for (const scope of state.locks) if (lockOwners.get(scope) === state) lockOwners.delete(scope);
        state.end();
      };
      state.hooks.begin();
      const handle = makeHandle(state);
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        result = await fn(handle);
      } catch (error) {
        state.hooks.rollback();
        finish();
        throw error;
      }
      const changed = state.staged[0] ?? new Map<string, Version>();
      for (const [scope, v] of changed) committed.set(scope, v);
      finish();
      const hooks = state.hooks.commit();
      await runAfterCommitHooks(hooks, report);
      if (push) {
        for (const scope of changed.keys()) listeners.hint(scope);
      }
      return result;
    },

    async readSnapshot(scope, fn, signal) {
      assertScope(scope, 'apphook/core');
      signal?.throwIfAborted();
      const frozen = new Map(committed);
      const state: TxState = {
        staged: [],
        hooks: new AfterCommitQueue(),
        closed: false,
        locks: new Set(),
        ended: Promise.resolve(),
        end: () => {},
        frozen,
      };
      const endSnapshot = () => {
        state.closed = true;
      };
      signal?.addEventListener('abort', endSnapshot, { once: true });
      try {
        return await fn({ version: frozen.get(scope) ?? 0, em: makeHandle(state) });
      } finally {
        signal?.removeEventListener('abort', endSnapshot);
        endSnapshot();
      }
    },

    snapshot() {
      return Object.fromEntries(committed);
    },

    async close() {
      listeners.clear();
    },
  };

  // Without push there is no subscribe at all, so a reloader defaults to polling (issue 13 item 7).
  if (push) store.subscribe = subscribe;

  function report(error: unknown): void {
    logger.error('[apphook/core] an after-commit hook failed; the transaction itself committed', { error });
  }

  return store;
}
