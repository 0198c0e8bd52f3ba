import type { Version } from './contracts.js';

/*
 * Publish coalescing (issue 15): in a burst of commits, one process sends one notifier publish per scope per
 * `minPublishIntervalMs` instead of one per commit. Every publish wakes every subscribed process, so a writer
 * committing a few hundred times a second would otherwise wake each worker as often; a hint carries no data
 * (subscribers read the store, G10), so the newest version stands for every commit before it. Rules, enforced
 * here and tested in test/publish-coalescing.test.ts (fake-timer examples and a fast-check model):
 *
 * C1 Leading edge: a commit at least `minMs` after the previous publish was sent is published at once, so an
 *    isolated commit pays no delay (G3).
 * C2 Trailing edge: a commit inside the window is published at the end of it, carrying the newest version
 *    committed so far: no commit waits more than `minMs` for a publish sent after it, and the last publish of a
 *    burst comes after its last commit.
 * C3 Spacing: two publishes of one scope through one reloader are sent at least `minMs` apart.
 * C4 Versions sent never go backwards, and each commit's version is covered by a publish of an equal or newer one.
 * C5 `close()` sends a held-back publish at once and leaves no timer (L3); after it, every commit is sent at once.
 *
 * `minMs` 0 turns coalescing off: every commit publishes at once, as before.
 */
export class PublishCoalescing {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private sentVersion = Number.NEGATIVE_INFINITY;
  private held: Version | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Commits whose publish went out as part of a later one (stats). */
  coalesced = 0;

  constructor(
    private readonly minMs: number,
    private readonly send: (version: Version) => void,
  ) {}

  /** A commit of `version` is done: publish it now or at the end of the window (C1, C2). */
  committed(version: Version): void {
    if (this.closed || this.minMs === 0) {
      this.sendNow(version); // C5
      return;
    }
    if (this.held !== undefined) {
      // Already waiting for the window's end: the later publish covers this commit too (C2, C4).
      this.coalesced++;
      if (version > this.held) this.held = version;
      return;
    }
    const wait = this.lastSentAt + this.minMs - Date.now();
    if (wait <= 0) {
      this.sendNow(version); // C1
      return;
    }
    this.held = version;
    this.timer = setTimeout(() => this.release(), wait); // C2, C3
  }

  /** Sends what is held back and stops holding anything back (C5). */
  close(): void {
    this.closed = true;
    this.release();
  }

  private release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const version = this.held;
    this.held = undefined;
    if (version !== undefined) this.sendNow(version);
  }

  private sendNow(version: Version): void {
    // C4: a hint only says "read the store", so an older version arriving late is sent as the newest one sent.
    this.lastSentAt = Date.now();
    this.sentVersion = Math.max(this.sentVersion, version);
    this.send(this.sentVersion);
  }
}
