/**
 * The admin page's fleet section (G13): every worker's announcement, and after a change "Version v live on k of
 * N" as the workers acknowledge it. Reads `/__fleet` (served by the demo); hidden when there is none.
 */
export function adminFleetSection(): string {
  return `<section id="fleet-section" hidden>
<h2>Fleet</h2>
<p id="live" class="stale"></p>
<table id="fleet"><thead><tr><th>Process</th><th>Host · pid</th><th>Serves</th><th>Last build</th><th>Seen</th><th>Last error</th></tr></thead><tbody></tbody></table>
</section>
<script>
(() => {
  const q = (s) => document.querySelector(s);
  const e = (t) => String(t).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
  const ago = (at, now) => at == null ? '-' : Math.max(0, Math.round((now - at) / 1000)) + ' s ago';
  async function refreshFleet() {
    const res = await fetch('/__fleet').catch(() => undefined);
    if (!res || !res.ok) return;
    const fleet = await res.json();
    q('#fleet-section').hidden = false;
    const committed = Number((q('#message')?.textContent ?? '').match(/Committed version (\\d+)/)?.[1] ?? NaN);
    const served = fleet.members.map((m) => (m.version == null ? -1 : m.version));
    const target = Number.isFinite(committed) ? committed : Math.max(-1, ...served);
    const live = served.filter((v) => v >= target).length;
    const total = fleet.members.length + fleet.rejected.length;
    q('#live').textContent = 'Version ' + target + ' live on ' + live + ' of ' + total;
    q('#live').className = live === total && total > 0 ? 'ok' : 'stale';
    q('#fleet tbody').innerHTML = fleet.members.map((m) => '<tr><td>' + e(m.name) + '</td><td>' + e(m.host) + ' · ' + m.pid +
      '</td><td class="' + (m.version >= target ? 'ok' : 'stale') + '">' + (m.version ?? '-') + '</td><td>' +
      (m.lastBuildMs == null ? '-' : m.lastBuildMs.toFixed(0) + ' ms, ' + ago(m.lastBuildAt, fleet.at)) + '</td><td>' + ago(m.seenAt, fleet.at) +
      '</td><td>' + (m.lastError ? e(m.lastError.code + ': ' + m.lastError.message.slice(0, 120)) : '') + '</td></tr>').join('');
  }
  refreshFleet(); setInterval(refreshFleet, 500);
})();
</script>`;
}
