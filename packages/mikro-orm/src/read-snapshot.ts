/**
 * One read snapshot for an exact build (G4): a forked EntityManager in a read-only transaction, the version
 * read first in it (the statement that pins the snapshot on PostgreSQL REPEATABLE READ, InnoDB's consistent
 * read and SQLite's deferred read transaction alike), then the caller's function with the same EntityManager.
 *
 * Invariants:
 * - the version is the first statement of the transaction, so it and every later row read share one snapshot;
 * - the transaction is always rolled back, once: when `fn` settles, or at once when `signal` aborts (the
 *   promise then rejects with the abort reason and `fn`'s later queries fail instead of running outside it);
 * - nothing is ever committed, and the fork has its own identity map (no request's entities leak in).
 */
import type { StoreSnapshot, Version } from '@apphook/core';
import type { EntityManager, TransactionOptions } from '@mikro-orm/core';

export interface SnapshotRun<T> {
  /** A fresh fork of the ORM's EntityManager (or of a dedicated read ORM), in no transaction. */
  em: EntityManager;
  /** How to begin: isolation level and read-only access for the platform. */
  begin: TransactionOptions;
  /** Reads the version on `em`, inside the transaction. */
  readVersion(em: EntityManager): Promise<Version>;
  /** Maps a failure to begin or to read the version (never `fn`'s errors) to the error to throw. */
  storeError(error: unknown): unknown;
  fn(snapshot: StoreSnapshot<EntityManager>): Promise<T>;
  signal?: AbortSignal | undefined;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export async function runInSnapshot<T>(run: SnapshotRun<T>): Promise<T> {
  const { em, signal } = run;
  if (signal?.aborted) throw abortReason(signal);
  try {
    await em.begin(run.begin);
  } catch (error) {
    throw run.storeError(error);
  }
  let ended: Promise<void> | undefined;
  const end = (): Promise<void> => {
    ended ??= em.rollback().catch(() => {
      // A rollback that fails (connection lost) leaves nothing open: the server ends the transaction with it.
    });
    return ended;
  };
  let onAbort: (() => void) | undefined;
  try {
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        reject(abortReason(signal as AbortSignal));
        void end();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // The rejection is observed by the race below; this keeps it from being reported as unhandled.
    aborted.catch(() => {});
    const work = (async () => {
      let version: Version;
      try {
        version = await run.readVersion(em);
      } catch (error) {
        throw run.storeError(error);
      }
      return run.fn({ version, em });
    })();
    work.catch(() => {});
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    await end();
  }
}
