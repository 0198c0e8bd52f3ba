/**
 * The three small contracts apphook is built from. A store keeps one version per scope and bumps it inside
 * the caller's transaction; a notifier carries hints between processes; a binding turns a version into a
 * router and swaps it in. Everything else (single-flight rebuilds, polling, retries) lives in the reloader.
 */

/** A scope's version: a non-negative safe integer that only grows. `0` means "never bumped". */
export type Version = number;

/** A function to run once the caller's outermost transaction has committed. */
export type AfterCommitHook = () => void | Promise<void>;

export interface AfterCommitOptions {
  /**
   * Hooks registered with the same key in one root transaction run once: the last registration that
   * survives (its savepoint was not rolled back) runs, in the place of the first. This is how a scope is
   * published once per root transaction however often `markChanged` was called (G2).
   */
  key?: string;
}

/** What a push channel tells a subscriber. Hints are never trusted as versions (G10). */
export interface HintListener {
  /** Something may have changed in this scope: read the store. */
  hint(scope: string): void;
  /** The channel (re)connected and may have missed messages: read the store now (G9). */
  resync(): void;
  /** The channel is down: poll at `intervalMs` until `resync()` (G9). */
  down(error: unknown): void;
}

/** A live subscription. Closing the last one of a store or notifier closes its connection. */
export interface Subscription {
  close(): Promise<void>;
}

/**
 * Keeps one version per scope. `Tx` is the store's transaction handle: a MikroORM `EntityManager` for the
 * SQL stores, a `MemoryTransaction` for the in-memory store.
 */
export interface TokenStore<Tx = unknown> {
  /** Short name used in messages, e.g. `'apphook/postgresql'`. */
  readonly name: string;
  /**
   * The committed version of `scope` (`0` when it was never bumped), read outside any caller transaction
   * on a fresh snapshot, so a commit that finished before the call is always seen (G4).
   */
  read(scope: string): Promise<Version>;
  /**
   * Increments `scope` inside `tx`, atomically, and returns the new version. If `tx` rolls back, the
   * increment never happened (G1). Concurrent bumps never lose an increment.
   */
  bump(tx: Tx, scope: string): Promise<Version>;
  /**
   * Runs `hook` after the outermost transaction of `tx` commits, never on rollback; at once (called before
   * `afterCommit` returns) when `tx` is in no transaction, so `markChanged` can wait for what it started.
   * Hook errors are reported, never thrown into the committed caller (G2).
   */
  afterCommit?(tx: Tx, hook: AfterCommitHook, options?: AfterCommitOptions): void;
  /**
   * Native push (Postgres LISTEN). Resolves once listening, so a read made after it cannot miss a commit.
   * Shared: one connection per store, however many scopes and reloaders subscribe.
   */
  subscribe?(scope: string, listener: HintListener): Promise<Subscription>;
  /**
   * Exact builds (G4): opens one read snapshot (REPEATABLE READ / consistent snapshot on PostgreSQL and MySQL,
   * a read transaction on SQLite, the memory store's equivalent), reads `scope`'s version in it, runs `fn`
   * with that version and the handle to read rows in the same snapshot, and always ends the snapshot (read
   * only: rolled back) when `fn` settles or `signal` aborts. A store without it gives "at least v" builds.
   */
  readSnapshot?<T>(
    scope: string,
    fn: (snapshot: StoreSnapshot<Tx>) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T>;
  /** Releases what the store opened itself (never the user's ORM or clients). */
  close?(): Promise<void>;
}

/** What `TokenStore.readSnapshot` hands a build: the version and the rows come from this one snapshot (G4). */
export interface StoreSnapshot<Tx = unknown> {
  /** The committed version of the scope as this snapshot sees it. */
  readonly version: Version;
  /**
   * Reads in the snapshot: for the SQL stores a forked MikroORM `EntityManager` inside the read-only
   * transaction; for the memory store its read view. Valid only until the build settles.
   */
  readonly em: Tx;
}

/** Carries "scope changed" hints between processes. Publishing happens only after commit (G2). */
export interface Notifier {
  readonly name: string;
  /** Sends a hint. Rejections are reported by the reloader and recovered by the safety poll (G9). */
  publish(scope: string, version: Version): Promise<void>;
  /** Resolves once subscribed. */
  subscribe(scope: string, listener: HintListener): Promise<Subscription>;
  close?(): Promise<void>;
}

export type ReloaderMode = 'push' | 'interval' | 'request';

/** What `rebuildRoutes` receives. */
export interface RebuildContext<Tx = unknown> {
  /**
   * The committed version this build is for. With a store that has `readSnapshot` (the SQL stores and the
   * memory store), it is the version of the snapshot `em` reads: rows read through `em` are exactly the data
   * of this version (G4). Without it, or if `rebuildRoutes` reads through another handle, the build reads the
   * database after this version committed: its rows are those of this version *or later* ("at least v").
   */
  version: Version;
  scope: string;
  /** Aborted when the build times out or the reloader stops. */
  signal: AbortSignal;
  /** The version served until now, `undefined` for the first build. */
  previous: Version | undefined;
  /**
   * The store's read snapshot, when it has `readSnapshot` (G4): for the SQL stores a forked MikroORM
   * `EntityManager` in a read-only REPEATABLE READ transaction, for the memory store a read-only
   * `MemoryTransaction`. Read the routes' rows through it (`(em as EntityManager).find(Page, {})`) and the
   * routes are exactly those of `version`; a `rebuildRoutes` that ignores `em` gets "at least v" builds.
   * Valid only until the build settles. `undefined` with a store that has no snapshots.
   */
  em?: Tx;
}

/** The user's function: builds routes from the database. Whatever it returns is what the binding swaps in. */
export type RebuildRoutes<R> = (context: RebuildContext) => R | Promise<R>;

/** What a binding may ask of the reloader it is attached to. */
export interface ReloaderLink {
  readonly scope: string;
  readonly mode: ReloaderMode;
  /** Version now served, `undefined` before the first build. */
  readonly version: Version | undefined;
  /**
   * Reads the store (one read in flight per reloader, shared by concurrent callers) and, if the version is
   * newer, waits for the rebuild. Never rejects: a failed read or build leaves the last good routes (G5, G7).
   */
  check(): Promise<void>;
  /**
   * Resolves `true` once a first build serves, `false` after `timeoutMs` or on stop. Waits in the reloader's one
   * wait list (its build scheduler); a timeout while `start()` was never called is logged once.
   */
  ready(timeoutMs: number): Promise<boolean>;
}

/**
 * Turns a version into routes and swaps them in atomically (G6). Framework packages implement it on top of
 * `createBindingCore`; `callbackBinding` is the plain one for processes that are not HTTP servers.
 */
export interface Binding<R = unknown> {
  /** Calls the user's `rebuildRoutes`. May throw; the reloader keeps the last good build (G5). */
  rebuild(context: RebuildContext): Promise<R>;
  /** Makes `routes` the ones every new request uses. Must not throw, must not touch anything else. */
  swap(routes: R, info: { version: Version; scope: string }): void;
  /** Called once by `createReloader`. A binding serves one reloader. */
  attach?(link: ReloaderLink): void;
  /** Called by `stop()`. */
  detach?(link: ReloaderLink): void;
}

/** Console-compatible; `debug` and `info` are optional. */
export interface Logger {
  debug?(message: string, meta?: Record<string, unknown>): void;
  info?(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}
