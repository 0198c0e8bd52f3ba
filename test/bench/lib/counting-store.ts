import type { TokenStore } from '@apphook/core';

export interface CountingStore<Tx> extends TokenStore<Tx> {
  /** `read()` calls so far: each one is a query to the database (SQLite may answer it from `data_version`). */
  readonly reads: number;
}

/**
 * Wraps a store to count its reads, keeping exactly the capabilities it has (the reloader picks `push` from
 * whether `subscribe` exists).
 */
export function countingStore<Tx>(store: TokenStore<Tx>): CountingStore<Tx> {
  let reads = 0;
  const wrapped: TokenStore<Tx> = {
    name: store.name,
    read(scope) {
      reads++;
      return store.read(scope);
    },
    bump: (tx, scope) => store.bump(tx, scope),
    ...(store.afterCommit ? { afterCommit: store.afterCommit.bind(store) } : {}),
    ...(store.subscribe ? { subscribe: store.subscribe.bind(store) } : {}),
    ...(store.close ? { close: store.close.bind(store) } : {}),
  };
  return Object.defineProperty(wrapped, 'reads', { get: () => reads, enumerable: true }) as CountingStore<Tx>;
}
