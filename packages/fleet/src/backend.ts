/**
 * Where announcements live. A backend stores opaque strings under (scope, id) with an expiry it enforces
 * itself (a Redis TTL, an `expires_at` column), so a process that died drops out without anyone deleting it.
 * Backends never parse payloads: the fleet view does, strictly (announcement.ts).
 */
export interface FleetEntry {
  id: string;
  /** The stored payload, unparsed. Backends pass through what they find, bounded in size by the reader. */
  payload: unknown;
}

export interface FleetListing {
  entries: FleetEntry[];
  /** More than `limit` live entries exist: the listing is incomplete. */
  truncated: boolean;
}

export interface FleetBackend {
  /** Short name for messages, e.g. `'redis'`. */
  readonly name: string;
  /** Upserts one process's entry: a single round trip; the entry expires `ttlMs` after this write. */
  write(scope: string, id: string, payload: string, ttlMs: number): Promise<void>;
  /** Removes one entry (a clean stop). */
  remove(scope: string, id: string): Promise<void>;
  /** Live (unexpired) entries of `scope`, at most `limit`. */
  list(scope: string, limit: number): Promise<FleetListing>;
  /** Deletes expired entries of `scope` where the backend does not expire them itself. Optional. */
  prune?(scope: string): Promise<void>;
}
