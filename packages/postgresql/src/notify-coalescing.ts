import type { Logger, Version } from '@apphook/core';

/*
 * NOTIFY coalescing of the Postgres store (issue 15): in a burst of commits, one NOTIFY per scope per
 * `minNotifyIntervalMs` instead of one per root transaction. Every NOTIFY wakes every listening process, so a
 * writer committing a few hundred times a second would otherwise wake each worker as often; a hint carries no
 * data (listeners read the store, G10), so one NOTIFY sent after a commit stands for every commit before it.
 * The same idea as core's PublishCoalescing (C1..C5), with one difference: the leading NOTIFY is sent inside
 * the transaction, so it is decided before the commit. Rules, enforced here and tested against PostgreSQL in
 * test/notify-coalescing.test.ts (MikroORM 7 and 6) and over random schedules in
 * test/notify-coalescing-model.test.ts:
 *
 * N1 Leading edge: a transaction whose scope had no NOTIFY from this store in the last window, and none held
 *    back, sends its NOTIFY inside the transaction as without coalescing: Postgres delivers it with the commit,
 *    never on rollback (G2). A bump in no transaction does the same in its own statement.
 * N2 Trailing edge: a commit inside the window sends nothing in its transaction; after it commits, one
 *    `select pg_notify(...)` is sent at the end of the window, outside any transaction, naming the version the
 *    token row holds then. So every committed bump is followed, within minNotifyIntervalMs (+ the statement's
 *    time), by a NOTIFY sent after its commit: the held one, or a NOTIFY naming a newer version of the scope
 *    (bumps of one scope are serialised by its token row's lock, so a newer version committed later).
 * N3 Spacing: a scope gets at most one NOTIFY (leading or trailing) per window from this store. A NOTIFY is
 *    stamped when it is delivered: an in-transaction one when its commit returns (its after-commit hook), or
 *    when the scope's next transaction decides if that comes first (the latest it can have been delivered,
 *    see below); a trailing one when its statement returns. A leading NOTIFY is decided only with none of the scope's NOTIFYs held or sending and
 *    none in flight. Exception, a race: a commit that finds another transaction's leading NOTIFY in flight
 *    holds its NOTIFY one window and sends it if that transaction has not committed by then (rolled back,
 *    or a COMMIT slower than the window).
 * N4 Rollback sends nothing: the in-transaction NOTIFY rolls back with it, and the trailing one is scheduled by
 *    an after-commit hook, which a rollback drops. A rolled-back leading transaction only leaves the window
 *    closed for the scope's next commit, which then goes the trailing way.
 * N5 `close()` sends every held NOTIFY at once, waits for those being sent and leaves no timer; afterwards
 *    every transaction notifies inside itself again, as with minNotifyIntervalMs 0.
 * N6 A failing trailing NOTIFY is logged (store logger) and not retried: the reloaders' safety poll picks the
 *    commit up (G9).
 *
 * Why a transaction with a leading NOTIFY in flight is "done" when the next one of its scope decides: both
 * bump the scope's token row, whose lock the first holds until it commits or rolls back; so the second reaches
 * its commit only after the first ended, and the first's outcome is merely not known here yet (its after-commit
 * hook runs later, or never).
 *
 * State is per store and scope: two stores on one ORM with other tables or channels keep their own windows
 * (and their hook keys differ). Two stores on the same table and channel share the hook key, so a transaction
 * sends one NOTIFY, decided by the store that bumped last in it, as without coalescing.
 */

/** What one root transaction decided for one scope, shared by its before- and after-commit hooks. */
export interface NotifyTicket {
  /** The NOTIFY goes inside the transaction (N1). */
  leading: boolean;
  /**
   * `committed()` will be called after the commit. Without it (coalescing off, or no after-commit hook
   * possible) the transaction notifies inside itself and leaves no trace here.
   */
  tracked: boolean;
  /** The version the transaction ends on, for the coverage check of N2. */
  version: Version;
}

/** Counters of the coalescing, for the bench and for tests. */
export interface NotifyStats {
  /** NOTIFYs sent inside a transaction or a bump's own statement (leading edge, or coalescing off). */
  inTransaction: number;
  /** NOTIFYs sent after commits, at the end of a window (trailing edge). */
  trailing: number;
  /** Commits announced by another commit's NOTIFY. */
  coalesced: number;
  /** Trailing NOTIFYs that failed (logged; the safety poll recovers, G9). */
  failed: number;
}

interface ScopeState {
  /** When the last NOTIFY of this scope was delivered (N3), or -Infinity. */
  lastAt: number;
  /** The highest version a delivered NOTIFY named. */
  notified: Version;
  /** The transaction whose leading NOTIFY was decided and whose commit is not known here yet. */
  inFlight: NotifyTicket | undefined;
  /** The highest committed version waiting for a trailing NOTIFY. */
  pending: Version | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  sending: Promise<void> | undefined;
}

/**
 * Decides, per scope, whether a root transaction's NOTIFY goes inside it or after its commit, and sends the
 * trailing ones. `send(scope)` runs the trailing `pg_notify` outside any transaction and resolves to the
 * version it named.
 */
export class NotifyCoalescing {
  private readonly scopes = new Map<string, ScopeState>();
  private closed = false;
  private readonly counts: NotifyStats = { inTransaction: 0, trailing: 0, coalesced: 0, failed: 0 };

  constructor(
    private readonly minMs: number,
    private readonly send: (scope: string) => Promise<Version>,
    private readonly logger: Logger,
    private readonly describe: string,
  ) {}

  /** Coalescing is on: the store registers its after-commit hook and asks `decide()`. */
  get active(): boolean {
    return this.minMs > 0 && !this.closed;
  }

  stats(): NotifyStats {
    return { ...this.counts };
  }

  /** Just before the root commits (or before a bump's own statement): in the transaction, or after it (N1, N3). */
  decide(scope: string, ticket: NotifyTicket): void {
    if (!this.active || !ticket.tracked) {
      ticket.leading = true;
      this.counts.inTransaction++;
      return;
    }
    const state = this.state(scope);
    const now = Date.now();
    if (state.inFlight) {
      // That transaction ended at the database (see the header), committed or not: count its NOTIFY as
      // delivered now, the latest it can have been (N3); its after-commit hook, maybe later, changes nothing.
      state.inFlight = undefined;
      state.lastAt = Math.max(state.lastAt, now);
    }
    ticket.leading =
      state.pending === undefined && !state.sending && !state.timer && now >= state.lastAt + this.minMs;
    if (ticket.leading) {
      state.inFlight = ticket;
      this.counts.inTransaction++;
    }
  }

  /** After the root committed (never on rollback, N4): stamps a leading NOTIFY or schedules a trailing one. */
  committed(scope: string, ticket: NotifyTicket): void {
    const state = this.state(scope);
    if (ticket.leading) {
      // Stamped at its commit, when Postgres delivered it (N3), unless a later transaction stamped it already.
      if (state.inFlight === ticket) {
        state.inFlight = undefined;
        state.lastAt = Math.max(state.lastAt, Date.now());
      }
      state.notified = Math.max(state.notified, ticket.version);
      // Commits held for a trailing NOTIFY committed before this one (row lock): it announced them (N2).
      if (state.pending !== undefined && state.pending <= state.notified) this.dropHeld(state);
      return;
    }
    if (ticket.version <= state.notified || state.pending !== undefined) this.counts.coalesced++;
    if (ticket.version <= state.notified) return;
    state.pending = Math.max(state.pending ?? ticket.version, ticket.version);
    // A leading NOTIFY in flight names a newer version (row lock): give it one window to commit (N3).
    this.schedule(scope, state, state.inFlight ? this.minMs : undefined);
  }

  /** Sends every held NOTIFY now and waits for those being sent; then stops coalescing (N5). */
  async close(): Promise<void> {
    this.closed = true;
    for (;;) {
      const sending: Promise<void>[] = [];
      for (const [scope, state] of this.scopes) {
        if (state.timer) {
          clearTimeout(state.timer);
          state.timer = undefined;
          this.fire(scope, state);
        }
        if (state.sending) sending.push(state.sending);
      }
      // A send that ends with commits held re-arms (N2), at once now that coalescing is closed: wait again.
      if (sending.length === 0) return;
      await Promise.all(sending);
    }
  }

  private state(scope: string): ScopeState {
    let state = this.scopes.get(scope);
    if (!state) {
      state = {
        lastAt: Number.NEGATIVE_INFINITY,
        notified: -1,
        inFlight: undefined,
        pending: undefined,
        timer: undefined,
        sending: undefined,
      };
      this.scopes.set(scope, state);
    }
    return state;
  }

  private dropHeld(state: ScopeState): void {
    state.pending = undefined;
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
  }

  /** Arms the trailing NOTIFY for the end of the window (N2, N3); a send in progress re-arms when it ends. */
  private schedule(scope: string, state: ScopeState, atLeast?: number): void {
    if (state.timer || state.sending) return;
    const wait = this.closed ? 0 : Math.max(state.lastAt + this.minMs - Date.now(), atLeast ?? 0);
    if (wait <= 0) {
      this.fire(scope, state);
      return;
    }
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.fire(scope, state);
    }, wait);
  }

  private fire(scope: string, state: ScopeState): void {
    // A leading NOTIFY delivered while this one waited moved the window (N3), or already announced it (N2).
    if (state.pending === undefined || state.pending <= state.notified) {
      state.pending = undefined;
      return;
    }
    if (!this.closed && Date.now() < state.lastAt + this.minMs) {
      this.schedule(scope, state);
      return;
    }
    state.pending = undefined;
    this.counts.trailing++;
    state.sending = this.sendTrailing(scope, state).finally(() => {
      state.sending = undefined;
      // Commits after the statement began may not be in what it read: they get the next window (N2).
      if (state.pending !== undefined) this.schedule(scope, state);
    });
  }

  private async sendTrailing(scope: string, state: ScopeState): Promise<void> {
    try {
      const version = await this.send(scope);
      state.lastAt = Math.max(state.lastAt, Date.now());
      state.notified = Math.max(state.notified, version);
    } catch (error) {
      this.counts.failed++;
      // N6: not retried; a lost hint is what the safety poll exists for.
      this.logger.error(
        `[apphook/postgresql] the NOTIFY after a burst of commits of scope '${scope}' on ${this.describe} failed; other processes pick the change up by their reloaders' safety poll (intervalMs) (G9): ${error instanceof Error ? error.message : String(error)}`,
        { error },
      );
    }
  }
}
