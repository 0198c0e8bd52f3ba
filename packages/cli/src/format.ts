import type { FleetSnapshot, Laggard } from '@apphook/fleet';

const ago = (at: number | null, now: number) =>
  at === null ? '-' : `${Math.max(0, Math.round((now - at) / 1000))}s ago`;

/** The fleet as a plain table for a terminal or a deploy log. */
export function formatFleet(snapshot: FleetSnapshot): string {
  const now = snapshot.at;
  const rows = [
    ['NAME', 'HOST', 'PID', 'VERSION', 'BEHIND', 'MODE', 'CHANNEL', 'LAST BUILD', 'SEEN', 'LAST ERROR'],
  ];
  for (const m of snapshot.members) {
    rows.push([
      m.name,
      m.host,
      String(m.pid),
      m.version === null ? '-' : String(m.version),
      String(m.behind),
      m.mode,
      m.channelsHealthy ? 'up' : 'down',
      m.lastBuildMs === null ? '-' : `${m.lastBuildMs.toFixed(0)} ms, ${ago(m.lastBuildAt, now)}`,
      ago(m.seenAt, now),
      m.lastError ? `${m.lastError.code}: ${m.lastError.message.slice(0, 80)}` : '',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  lines.unshift(`scope '${snapshot.scope}': ${snapshot.members.length} live process(es)`);
  for (const r of snapshot.rejected) lines.push(`rejected entry ${r.id}: ${r.reason}`);
  if (snapshot.truncated) lines.push('(more entries exist than were read)');
  return lines.join('\n');
}

export function formatLaggards(laggards: Laggard[]): string {
  return laggards.map((l) => `  ${l.name} serves ${l.version ?? 'nothing'}: ${l.reason}`).join('\n');
}
