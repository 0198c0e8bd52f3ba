import type { Version } from './contracts.js';

/**
 * Store reads shared by every caller: `fresh()` gives a read that starts at or after the call, joining the queued
 * read if there is one, else queueing one behind the read in flight. At most one read in flight and one queued,
 * however many requests, hints or polls ask (G7, G10). Never joining a read that started earlier is what keeps
 * `request` mode read-your-writes across processes.
 */
export class SharedRead {
  private reading: Promise<Version | undefined> | undefined;
  private queued: Promise<Version | undefined> | undefined;
  /** When the latest read started (`-Infinity` before the first). */
  lastStartedAt = Number.NEGATIVE_INFINITY;
  /** What the latest successful read returned. */
  lastValue: Version | undefined;

  /** `read` performs one read and never rejects: `undefined` means it failed (and was reported). */
  constructor(private readonly read: () => Promise<Version | undefined>) {}

  fresh(): Promise<Version | undefined> {
    if (this.queued) return this.queued;
    if (this.reading) {
      const queued = this.reading.then(() => {
        this.queued = undefined;
        return this.start();
      });
      this.queued = queued;
      return queued;
    }
    return this.start();
  }

  private start(): Promise<Version | undefined> {
    this.lastStartedAt = Date.now();
    const read: Promise<Version | undefined> = this.read().then((version) => {
      if (version !== undefined) this.lastValue = version;
      if (this.reading === read) this.reading = undefined;
      return version;
    });
    this.reading = read;
    return read;
  }
}
