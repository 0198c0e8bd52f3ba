import { callbackBinding, createReloader, memoryStore } from '@apphook/core';
import { announce, FleetLagError, fleetView, memoryFleetBackend } from '@apphook/fleet';
import { afterEach, describe, expect, it } from 'vitest';

describe('fleet view and waitForFleet (G13, memory backend)', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function process_(store: ReturnType<typeof memoryStore>, failFor?: number) {
    const reloader = createReloader({
      store,
      scope: 'site',
      mode: 'interval',
      intervalMs: 20,
      retryBaseMs: 50,
      retryMaxMs: 50,
      logger: false,
      binding: callbackBinding({
        rebuildRoutes: ({ version }) => {
          if (version === failFor) throw new Error(`no routes for ${version}`);
          return version;
        },
      }),
    });
    await reloader.start();
    stops.push(() => reloader.stop());
    return reloader;
  }

  it('lists every announcing process with what it serves, and drops one at once when it stops', async () => {
    const backend = memoryFleetBackend();
    const store = memoryStore({ logger: false });
    const view = fleetView({ backend });
    const a = announce(await process_(store), { backend, name: 'web-1', heartbeatMs: 1000 });
    const b = announce(await process_(store), { backend, name: 'web-2', heartbeatMs: 1000 });
    await Promise.all([a.ready(), b.ready()]);
    const fleet = await view.fleet('site');
    expect(fleet.members.map((m) => [m.name, m.version, m.mode, m.pid])).toEqual([
      ['web-1', 0, 'interval', process.pid],
      ['web-2', 0, 'interval', process.pid],
    ]);
    expect(fleet.members[0]!.lastBuildMs).toBeGreaterThanOrEqual(0);
    expect(fleet.rejected).toEqual([]);
    await b.stop();
    expect((await view.fleet('site')).members.map((m) => m.name)).toEqual(['web-1']);
    await a.stop();
  });

  it('resolves once every process serves the version, and times out naming the one whose build failed with its error', async () => {
    const backend = memoryFleetBackend();
    const store = memoryStore({ logger: false });
    const view = fleetView({ backend });
    const good = await process_(store);
    const bad = await process_(store, 1);
    const announcers = [
      announce(good, { backend, name: 'good', heartbeatMs: 50 }),
      announce(bad, { backend, name: 'bad', heartbeatMs: 50 }),
    ];
    stops.push(async () => void (await Promise.all(announcers.map((x) => x.stop()))));
    await store.transaction((tx) => store.bump(tx, 'site'));
    const error = await view.waitForFleet('site', 1, { timeoutMs: 600, pollMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetLagError);
    const lag = error as FleetLagError;
    expect(lag.code).toBe('E_TIMEOUT');
    expect(lag.laggards.map((l) => [l.name, l.version])).toEqual([['bad', 0]]);
    expect(lag.laggards[0]!.reason).toMatch(/E_REBUILD.*no routes for 1/);
    expect(lag.message).toMatch(
      /\[apphook\/fleet\] scope 'site' did not converge on version 1.*bad serves 0/,
    );
    await store.transaction((tx) => store.bump(tx, 'site'));
    const done = await view.waitForFleet('site', 2, { timeoutMs: 5000, pollMs: 20 });
    expect(done.members.map((m) => m.version)).toEqual([2, 2]);
  });

  it('does not resolve for an empty fleet unless minMembers is 0', async () => {
    const view = fleetView({ backend: memoryFleetBackend() });
    await expect(view.waitForFleet('site', 0, { timeoutMs: 50, pollMs: 10 })).rejects.toThrow(
      /fewer than minMembers/,
    );
    await expect(view.waitForFleet('site', 0, { timeoutMs: 50, minMembers: 0 })).resolves.toMatchObject({
      members: [],
    });
  });

  it('drops a process that stopped writing after its TTL', async () => {
    let now = 1_000_000;
    const backend = memoryFleetBackend({ now: () => now });
    const store = memoryStore({ logger: false });
    const announcer = announce(await process_(store), { backend, heartbeatMs: 100_000, ttlMs: 300_000 });
    await announcer.ready();
    const view = fleetView({ backend });
    expect((await view.fleet('site')).members).toHaveLength(1);
    now += 300_001;
    expect((await view.fleet('site')).members).toHaveLength(0);
    await announcer.stop();
  });

  it('writes once at start, once per build and once per heartbeat', async () => {
    const backend = memoryFleetBackend();
    const store = memoryStore({ logger: false });
    const reloader = await process_(store);
    const announcer = announce(reloader, { backend, heartbeatMs: 60_000 });
    await announcer.ready();
    expect(backend.writes).toBe(1);
    for (let i = 0; i < 3; i++) await store.transaction((tx) => reloader.markChanged(tx));
    await new Promise((r) => setTimeout(r, 20));
    expect(backend.writes).toBe(4);
    await announcer.stop();
  });

  it('rejects bad options with a message that says what to pass', () => {
    const reloader = { scope: 'site', stats: () => ({}), on: () => () => {} } as never;
    expect(() => announce(reloader, {} as never)).toThrow(/needs a backend/);
    expect(() =>
      announce(reloader, { backend: memoryFleetBackend(), heartbeatMs: 1000, ttlMs: 1000 }),
    ).toThrow(/ttlMs \(1000\) must exceed heartbeatMs/);
    expect(() => announce(reloader, { backend: memoryFleetBackend(), name: 'x'.repeat(101) })).toThrow(
      /name must be/,
    );
    expect(() => fleetView({} as never)).toThrow(/needs a backend/);
  });
});
