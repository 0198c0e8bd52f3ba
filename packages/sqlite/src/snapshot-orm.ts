import { ApphookError } from '@apphook/core';
import { nativeDriverConnection } from '@apphook/mikro-orm';
import type { MikroORM, Options } from '@mikro-orm/core';

/**
 * A second MikroORM instance on the user's database file, made from the user's own configuration, for read
 * snapshots only (G4): SQLite's MikroORM driver has one connection, and a read transaction on it would wait for
 * (or, awaited inside it, deadlock with) the caller's open write transaction. Opened on first use, closed by
 * `close()`; never used for writes.
 *
 * Invariants: at most one instance is opening or open; after `close()` nothing is open and `get()` throws.
 */
export class SnapshotOrm {
  private opening: Promise<MikroORM> | undefined;
  private closed = false;

  constructor(private readonly orm: MikroORM) {}

  get(): Promise<MikroORM> {
    if (this.closed) {
      return Promise.reject(
        new ApphookError('E_STATE', '[apphook/sqlite] readSnapshot after store.close(); create a new store'),
      );
    }
    this.opening ??= this.open();
    // A failed open is retried by the next snapshot.
    this.opening.catch(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    const orm = await opening?.catch(() => undefined);
    await orm?.close(true);
  }

  private async open(): Promise<MikroORM> {
    const Orm = this.orm.constructor as typeof MikroORM;
    const options = {
      ...this.orm.config.getAll(),
      // Its own subscribers would see the snapshot's begin and rollback: the read ORM has none.
      subscribers: [],
    } as Options;
    const orm = await Orm.init(options);
    // Read only, as PostgreSQL's and MySQL's snapshots are: a write through a build's EntityManager fails.
    const native = (await nativeDriverConnection(orm)) as
      | { pragma?: (source: string) => unknown }
      | undefined;
    native?.pragma?.('query_only = ON');
    if (this.closed) {
      await orm.close(true);
      throw new ApphookError('E_STATE', '[apphook/sqlite] the store was closed while a snapshot opened');
    }
    return orm;
  }
}
