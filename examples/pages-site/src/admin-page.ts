import { adminFleetSection } from './admin-fleet.js';

/** The demo's admin page: list, add, rename and delete pages, and see which version every worker serves. */
export function adminPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>apphook demo admin</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem} table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem} td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}
form{display:flex;gap:.5rem;margin:.5rem 0} input{flex:1;padding:.3rem} button{padding:.3rem .8rem;cursor:pointer}
.ok{color:#14713d}.stale{color:#b45309} #message{min-height:1.4em;color:#555}
</style></head><body>
<h1>apphook demo</h1>
<p>Every page below is a route built from the <code>pages</code> table. Change one here: every worker rebuilds after the commit.</p>
<h2>Pages</h2>
<table id="pages"><thead><tr><th>Path</th><th>Title</th><th></th></tr></thead><tbody></tbody></table>
<form id="add"><input name="title" placeholder="New page title" required><button>Add page</button></form>
<p id="message"></p>
<h2>Workers</h2>
<table id="workers"><thead><tr><th>Worker</th><th>Serves version</th><th>Routes</th><th>Route hash</th></tr></thead><tbody></tbody></table>
<script>
const $ = (s) => document.querySelector(s);
const esc = (t) => String(t).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
async function change(body) {
  const res = await fetch('/__admin/change', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const out = await res.json();
  $('#message').textContent = res.ok ? 'Committed version ' + out.version + '.' : 'Error: ' + out.error;
  await refresh();
}
function slug(t) { return '/' + (t.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'page'); }
async function refresh() {
  const pages = await (await fetch('/__pages')).json();
  $('#pages tbody').innerHTML = pages.map((p) => '<tr><td><a href="' + esc(p.path) + '">' + esc(p.path) + '</a></td><td>' + esc(p.title) +
    '</td><td><button data-rename="' + esc(p.path) + '">Rename</button> <button data-remove="' + esc(p.path) + '">Delete</button></td></tr>').join('');
  const workers = await (await fetch('/__workers')).json();
  const newest = Math.max(...workers.map((w) => (w.build ? w.build.version : -1)));
  $('#workers tbody').innerHTML = workers.map((w) => '<tr><td>' + esc(w.name) + '</td><td class="' + (w.build && w.build.version === newest ? 'ok' : 'stale') + '">' +
    (w.build ? w.build.version : '-') + '</td><td>' + (w.build ? w.build.routes : '-') + '</td><td><code>' + (w.build ? esc(w.build.hash) : '') + '</code></td></tr>').join('');
}
$('#add').addEventListener('submit', (e) => { e.preventDefault(); const title = e.target.title.value; e.target.reset(); change({ op: 'add', path: slug(title), title }); });
document.addEventListener('click', (e) => {
  const t = e.target;
  if (t.dataset.remove) change({ op: 'remove', path: t.dataset.remove });
  if (t.dataset.rename) { const title = prompt('New title'); if (title) change({ op: 'rename', path: t.dataset.rename, title, newPath: slug(title) }); }
});
refresh(); setInterval(refresh, 1000);
</script>
${adminFleetSection()}
</body></html>`;
}
