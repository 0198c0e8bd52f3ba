/**
 * Reads the fleet of a scope and waits for it to converge (G13). A process counts as serving version v only
 * when its entry is live (the backend enforces the TTL), parses strictly, names this scope and its own id, and
 * carries an integer version >= v. An entry that does not parse is listed as `rejected` and blocks
 * `waitForFleet` until it expires: a forged or garbled entry can delay convergence, never fake it.
 */
import { ApphookError, ApphookOptionError, assertScope, type Version } from '@apphook/core';
import { type Announcement, parseAnnouncement } from './announcement.js';
import type { FleetBackend } from './backend.js';

export interface FleetMember extends Announcement {
  /** `latestSeen - version`: how many versions this process knows it is behind. */
  behind: number;
}

export interface RejectedEntry {
  id: string;
  reason: string;
}

export interface FleetSnapshot {
  scope: string;
  /** Live processes, sorted by name. */
  members: FleetMember[];
  /** Live entries that failed validation (forged, garbled, from another format). */
  rejected: RejectedEntry[];
  /** More than `maxMembers` entries exist; the listing is incomplete and cannot prove convergence. */
  truncated: boolean;
  /** When it was read. */
  at: number;
}

export interface FleetViewOptions {
  backend: FleetBackend;
  /**
   * At most this many entries are read per scope.
   * @default 1000
   */
  maxMembers?: number;
}

export interface WaitForFleetOptions {
  /** @default 30000 */
  timeoutMs?: number;
  /** How often the fleet is re-read. @default 250 */
  pollMs?: number;
  /**
   * Resolve only when at least this many processes are live (a deploy that waits for "all of zero" learns
   * nothing).
   * @default 1
   */
  minMembers?: number;
  signal?: AbortSignal;
}

export interface Laggard {
  id: string;
  name: string;
  /** Version served, `null` for a process with no build yet or an entry that did not parse. */
  version: Version | null;
  /** Why it lags: its last error, or why its entry was rejected. */
  reason: string;
}

/** `waitForFleet` timed out: `laggards` names the processes that do not serve the version. */
export class FleetLagError extends ApphookError {
  override readonly name = 'FleetLagError';
  constructor(
    message: string,
    readonly scope: string,
    readonly version: Version,
    readonly laggards: Laggard[],
    readonly fleet: FleetSnapshot,
  ) {
    super('E_TIMEOUT', message);
  }
}

export interface FleetView {
  /** Live processes of `scope` and what they serve. */
  fleet(scope: string): Promise<FleetSnapshot>;
  /** Resolves with the fleet once every live process serves `version` or later; rejects with `FleetLagError`. */
  waitForFleet(scope: string, version: Version, options?: WaitForFleetOptions): Promise<FleetSnapshot>;
}

export function laggardsOf(snapshot: FleetSnapshot, version: Version): Laggard[] {
  const laggards: Laggard[] = snapshot.members
    .filter((m) => m.version === null || m.version < version)
    .map((m) => ({
      id: m.id,
      name: m.name,
      version: m.version,
      reason: m.lastError
        ? `last error ${m.lastError.code} (${m.lastError.phase}): ${m.lastError.message}`
        : m.version === null
          ? 'no build yet'
          : 'not rebuilt yet',
    }));
  for (const r of snapshot.rejected)
    laggards.push({ id: r.id, name: r.id, version: null, reason: `entry rejected: ${r.reason}` });
  return laggards;
}

export function fleetView(options: FleetViewOptions): FleetView {
  if (!options?.backend || typeof options.backend.list !== 'function') {
    throw new ApphookOptionError(
      '[apphook/fleet] fleetView({ backend }) needs a backend: redisFleetBackend({ client }), sqlFleetBackend(orm) or memoryFleetBackend()',
    );
  }
  const { backend } = options;
  const maxMembers = options.maxMembers ?? 1000;
  if (!Number.isInteger(maxMembers) || maxMembers < 1 || maxMembers > 100_000) {
    throw new ApphookOptionError(
      `[apphook/fleet] maxMembers must be a whole number from 1 to 100000, got ${String(maxMembers)}`,
    );
  }

  async function fleet(scope: string): Promise<FleetSnapshot> {
    assertScope(scope, 'apphook/fleet');
    const listing = await backend.list(scope, maxMembers);
    const members: FleetMember[] = [];
    const rejected: RejectedEntry[] = [];
    for (const entry of listing.entries.slice(0, maxMembers)) {
      const id = typeof entry.id === 'string' ? entry.id.slice(0, 200) : String(entry.id);
      const parsed = parseAnnouncement(entry.payload, { scope, id });
      if (!parsed.ok) rejected.push({ id, reason: parsed.reason });
      else {
        const a = parsed.announcement;
        const behind =
          a.version !== null && a.latestSeen !== null ? Math.max(0, a.latestSeen - a.version) : 0;
        members.push({ ...a, behind });
      }
    }
    members.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return { scope, members, rejected, truncated: listing.truncated, at: Date.now() };
  }

  async function waitForFleet(
    scope: string,
    version: Version,
    opts: WaitForFleetOptions = {},
  ): Promise<FleetSnapshot> {
    assertScope(scope, 'apphook/fleet');
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new ApphookOptionError(
        `[apphook/fleet] waitForFleet: version must be a non-negative whole number, got ${String(version)}`,
      );
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const pollMs = opts.pollMs ?? 250;
    const minMembers = opts.minMembers ?? 1;
    const deadline = Date.now() + timeoutMs;
    let last: FleetSnapshot | undefined;
    let lastReadError: unknown;
    for (;;) {
      opts.signal?.throwIfAborted();
      try {
        last = await fleet(scope);
        lastReadError = undefined;
        const laggards = laggardsOf(last, version);
        if (laggards.length === 0 && !last.truncated && last.members.length >= minMembers) return last;
      } catch (error) {
        lastReadError = error;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
    }
    const snapshot = last ?? { scope, members: [], rejected: [], truncated: false, at: Date.now() };
    const laggards = laggardsOf(snapshot, version);
    const parts = laggards
      .slice(0, 10)
      .map((l) => `${l.name} serves ${l.version ?? 'nothing'} (${l.reason.slice(0, 200)})`);
    const why = lastReadError
      ? `the fleet could not be read through ${backend.name}: ${lastReadError instanceof Error ? lastReadError.message : String(lastReadError)}`
      : laggards.length > 0
        ? `${laggards.length} of ${snapshot.members.length + snapshot.rejected.length} do not: ${parts.join('; ')}${laggards.length > 10 ? '; …' : ''}`
        : snapshot.truncated
          ? `more than ${maxMembers} entries exist (raise maxMembers)`
          : `only ${snapshot.members.length} process(es) are live, fewer than minMembers (${minMembers})`;
    throw new FleetLagError(
      `[apphook/fleet] scope '${scope}' did not converge on version ${version} within ${timeoutMs} ms: ${why}`,
      scope,
      version,
      laggards,
      snapshot,
    );
  }

  return { fleet, waitForFleet };
}
