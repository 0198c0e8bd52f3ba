import type { FleetBackend, FleetListing } from './backend.js';

export interface MemoryFleetBackend extends FleetBackend {
  /** Writes a raw payload, as a forger would (tests). */
  forge(scope: string, id: string, payload: unknown, ttlMs: number): void;
  /** Writes made so far (the cost measurement). */
  readonly writes: number;
}

/** Announcements in this process's memory: unit tests and single-process apps. */
export function memoryFleetBackend(options: { now?: () => number } = {}): MemoryFleetBackend {
  const now = options.now ?? Date.now;
  const scopes = new Map<string, Map<string, { payload: unknown; expiresAt: number }>>();
  let writes = 0;
  const entriesOf = (scope: string) => {
    let map = scopes.get(scope);
    if (!map) {
      map = new Map();
      scopes.set(scope, map);
    }
    return map;
  };
  return {
    name: 'memory',
    get writes() {
      return writes;
    },
    async write(scope, id, payload, ttlMs) {
      writes++;
      entriesOf(scope).set(id, { payload, expiresAt: now() + ttlMs });
    },
    forge(scope, id, payload, ttlMs) {
      entriesOf(scope).set(id, { payload, expiresAt: now() + ttlMs });
    },
    async remove(scope, id) {
      scopes.get(scope)?.delete(id);
    },
    async list(scope, limit): Promise<FleetListing> {
      const live = [...(scopes.get(scope) ?? [])].filter(([, e]) => e.expiresAt > now());
      return {
        entries: live.slice(0, limit).map(([id, e]) => ({ id, payload: e.payload })),
        truncated: live.length > limit,
      };
    },
  };
}
