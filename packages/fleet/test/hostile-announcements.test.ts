import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import {
  type Announcement,
  announce,
  fleetView,
  memoryFleetBackend,
  parseAnnouncement,
} from '@apphook/fleet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const valid = (over: Partial<Record<keyof Announcement, unknown>> = {}) =>
  JSON.stringify({
    format: 1,
    scope: 'site',
    id: 'h:1:abc',
    host: 'h',
    pid: 1,
    name: 'forged',
    mode: 'push',
    version: 0,
    latestSeen: 0,
    channelsHealthy: true,
    lastBuildAt: null,
    lastBuildMs: null,
    lastError: null,
    startedAt: 1,
    seenAt: 1,
    ttlMs: 1000,
    ...over,
  });

describe('forged and malformed announcements (G13)', () => {
  it('accepts a version only when it is a non-negative safe integer', () => {
    const key = { scope: 'site', id: 'h:1:abc' };
    expect(parseAnnouncement(valid({ version: 7 }), key)).toMatchObject({
      ok: true,
      announcement: { version: 7 },
    });
    for (const version of ['10', [10], true, 10.5, -1, { valueOf: 10 }, Number.MAX_SAFE_INTEGER + 2]) {
      expect(parseAnnouncement(valid({ version }), key)).toMatchObject({ ok: false });
    }
    expect(parseAnnouncement(valid().replace('"version":0', '"version":1e400'), key)).toMatchObject({
      ok: false,
    });
    // An entry copied under another key (scope or id) is not believed.
    expect(parseAnnouncement(valid({ scope: 'other' }), key)).toEqual({ ok: false, reason: 'wrong scope' });
    expect(parseAnnouncement(valid({ id: 'h:2:abc' }), key)).toEqual({ ok: false, reason: 'wrong id' });
    expect(parseAnnouncement(valid({ name: 'x'.repeat(5000) }), key)).toMatchObject({ ok: false });
    expect(parseAnnouncement('{"format":1,"__proto__":{"version":9}}', key)).toMatchObject({ ok: false });
  });

  it('never throws on random payloads (fast-check)', () => {
    const key = { scope: 'site', id: 'h:1:abc' };
    const seed = Date.now() % 1_000_000;
    const runs = 500;
    console.log(`[hostile-announcements] ${runs} random payloads, seed ${seed}`);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (payload) => {
        const result = parseAnnouncement(payload, key);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: runs, seed },
    );
  });

  it('a forged or garbled entry can delay waitForFleet until it expires, never make it resolve for a version a process lacks', async () => {
    const backend = memoryFleetBackend();
    const store = memoryStore({ logger: false });
    const reloader = createReloader({
      store,
      scope: 'site',
      mode: 'interval',
      intervalMs: 60_000,
      logger: false,
      binding: callbackBinding({ rebuildRoutes: ({ version }) => version }),
    });
    await reloader.start();
    const announcer = announce(reloader, { backend, name: 'real', heartbeatMs: 60_000 });
    await announcer.ready();
    const view = fleetView({ backend });
    // The real process serves 0. Forgeries claim far newer versions in every shape that coerces to a number.
    backend.forge('site', 'evil:1:a', valid({ id: 'evil:1:a', version: 99 }), 60_000);
    backend.forge('site', 'evil:2:b', valid({ id: 'evil:2:b', version: '99' }), 60_000);
    backend.forge('site', 'evil:3:c', 'x'.repeat(100_000), 60_000);
    backend.forge('site', 'evil:4:d', { not: 'a string' }, 60_000);
    backend.forge('site', 'bad id with spaces', valid(), 60_000);
    const error = await view.waitForFleet('site', 5, { timeoutMs: 200, pollMs: 20 }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('FleetLagError');
    // Negative control: a naive reader (JSON.parse, then version >= 5) would have counted both forgeries as serving 5.
    const naive = (await backend.list('site', 100)).entries
      .map((e) => {
        try {
          return JSON.parse(String(e.payload)) as { version: unknown };
        } catch {
          return undefined;
        }
      })
      .filter((a) => (a?.version as number) >= 5);
    expect(naive).toHaveLength(2);
    const fleet = await view.fleet('site');
    expect(fleet.members.map((m) => m.name).sort()).toEqual(['forged', 'real']);
    expect(fleet.rejected.map((r) => r.reason).sort()).toEqual(
      ['bad version', 'larger than 4096 bytes', 'not a string', 'wrong id'].sort(),
    );
    // Garbage over the real process's own entry: it is rejected, and counts as a laggard instead of vanishing.
    backend.forge('site', announcer.id, '{"format":1,"version":[5]}', 60_000);
    const again = await view.waitForFleet('site', 0, { timeoutMs: 100, pollMs: 20 }).catch((e: unknown) => e);
    expect((again as { laggards: Array<{ id: string }> }).laggards.map((l) => l.id)).toContain(announcer.id);
    await announcer.stop();
    await reloader.stop();
  });
});
