/** Report sections added with the in-process microbenchmark, propagation's prose and the fan-out. */

import type { FanOutResult } from '../fan-out/run-fan-out.js';
import { fixed, whole } from '../lib/stats.js';
import { MICRO_VARIANT_LABELS } from '../micro/micro-rows.js';
import type { MicroResult } from '../micro/run-micro.js';
import { type BenchSettings, table } from './markdown.js';

const ci = (c: [number, number]) => `[${fixed(c[0], 3)}–${fixed(c[1], 3)}]`;

export function microSection(micro: MicroResult): string {
  // Results saved by a bench before the HTTP scale existed (--render of an old benchmarks.json).
  if (!micro.http) {
    return '## 1b. What apphook adds to one request, in-process\n\nMeasured by an older version of this section: run `pnpm bench --only micro` again.';
  }
  const o = micro.options;
  const http = new Map(micro.http.map((h) => [h.binding, h]));
  const ns = (v: number) => whole(v);
  return [
    '## 1b. What apphook adds to one request, in-process',
    '',
    `Per binding, one process holds the same ${o.routes}-route app in every variant: the bare framework (its own router, no apphook) and apphook in push, interval and request mode (on an in-memory store; request mode also on real PostgreSQL and SQLite stores, Express only). ` +
      'Each variant is the Node request listener its HTTP server would call, driven with real `http.IncomingMessage` and `http.ServerResponse` objects on a stub socket (Hono through @hono/node-server, Fastify through its server’s handler, NestJS on Express), one GET of the middle route at a time: no parser, no syscall, no load generator, and the same harness for every variant (the `harness` row, a listener that only ends the response, shows what it costs). ' +
      `Variants alternate in short batches of the same number of requests (about ${o.batchMs} ms for bare), in an order rotated every batch; ${o.rounds} rounds of ${o.batches} batches per variant, and each round keeps every variant’s fastest batch (wall time per request): another process on the machine can only add time to a batch, so the fastest is the least disturbed, for bare and apphook alike. Placement: ${micro.placement}. ` +
      '"added" is the variant’s time per request less bare’s in the same round (median of those per-round differences, 95 % bootstrap CI); CPU ns/req (user + system over all batches) is shown beside it and moves with the machine’s load. ' +
      `The scale: the bare framework’s own server CPU per request over HTTP (the same process serving the bare variant through \`http.createServer\`, loaded by autocannon with ${o.connections} connections, ${o.httpRounds} round${o.httpRounds > 1 ? 's' : ''} of ${o.httpDurationS} s). ` +
      'The 0.98 target is then bare / (bare + added), with an interval taken from the least favourable ends of both (bare’s low end with added’s high end). The in-process ratio (bare / variant, both in-process) is stricter: its denominator lacks the socket and the HTTP parser.',
    '',
    table(
      ['binding', 'bare over HTTP: server CPU µs/req (min–max)', 'req/s'],
      micro.http.map((h) => [
        h.binding,
        `${fixed(h.cpuNs / 1000, 1)} (${fixed(h.cpuNsMin / 1000, 1)}–${fixed(h.cpuNsMax / 1000, 1)})`,
        whole(h.reqPerSec),
      ]),
    ),
    '',
    table(
      [
        'binding',
        'variant',
        'ns/req in-process (fastest batch)',
        'CPU ns/req',
        'added ns [95 % CI]',
        'in-process ratio [95 % CI]',
        'ratio over HTTP: bare / (bare + added) [interval]',
        'requests',
      ],
      micro.rows.map((r) => {
        const compared = r.variant !== 'bare' && r.variant !== 'harness';
        return [
          r.binding,
          MICRO_VARIANT_LABELS[r.variant] ?? r.variant,
          ns(r.wallNs),
          ns(r.cpuNs),
          compared ? `${ns(r.addedNs)} [${ns(r.addedNsCI[0])} – ${ns(r.addedNsCI[1])}]` : '–',
          compared ? `${fixed(r.inProcessRatio, 3)} ${ci(r.inProcessRatioCI)}` : '–',
          compared
            ? `${fixed(r.httpRatio, 4)} [${fixed(r.httpRatioCI[0], 4)}–${fixed(r.httpRatioCI[1], 4)}]${http.has(r.binding) ? '' : ' (no HTTP scale)'}`
            : r.variant === 'bare'
              ? `scale: ${fixed((http.get(r.binding)?.cpuNs ?? Number.NaN) / 1000, 1)} µs`
              : '–',
          whole(r.iterations),
        ];
      }),
    ),
    '',
    'Request mode: with the in-memory store the row is apphook’s request-mode machinery (the shared read’s promise, the version comparison) without I/O. ' +
      'The PostgreSQL and SQLite rows read the version from the real store before every request (requests come one at a time here, so no two share a read: the worst case); their added CPU is this process’s side of that read (driver, ORM, protocol), not the database server’s, and their wall time includes the round trip. ' +
      'Under concurrent load G7 shares one read among the requests that arrive while it is in flight (section 1 counts the reads). Request mode’s target, ≥ 2 × the naive design, is an end-to-end one (section 1).',
  ].join('\n');
}

/** What section 2 measures and how, for isolated commits (or, for a report of an older run, commits at random gaps). */
export function propagationProse(s: BenchSettings['channels']): string {
  const head = `${s.workers} worker processes (examples/pages-site, ${s.routes} pages) and a writer in the bench process; the push channels again with 2 workers (one per core: rebuilds do not queue behind each other, so the push delay itself shows). `;
  const timing =
    'for each commit, the time from its commit (an after-commit hook in the writer) until every worker reported serving it or a later version (IPC, same clock). ' +
    '"push delay" is until every worker had begun the rebuild that serves the commit (hint delivery and the store read, without the rebuild itself); "total" adds the rebuilds; "each worker" is every (commit, worker) pair; ' +
    'the rebuild columns are the workers’ own build durations (snapshot read, router build) in the same window.';
  if (!s.pauseMs && s.gapMs) {
    return `${head}The writer commits ${s.commits} page changes at random gaps of ${s.gapMs[0]}–${s.gapMs[1]} ms; ${timing}`;
  }
  return (
    head +
    `The writer makes ${s.commits} isolated commits per channel (fewer for the 1 s poll, each of whose commits waits about half a poll): each one only after every worker served the previous one, then the rebuild spacing (\`minRebuildIntervalMs\`, ${s.spacingMs} ms) and a random ${s.pauseMs[0]}–${s.pauseMs[1]} ms, so no commit is held back by the spacing of the rebuild before it; ${timing} ` +
    'Commits that come closer together than the spacing are a different case, measured by the storm (section 3): a hint arriving less than `minRebuildIntervalMs` after a rebuild ended waits out the rest of that window (the scheduler coalesces everything that arrives meanwhile into one rebuild), so such a commit takes up to the spacing longer to show.'
  );
}

export function fanOutSection(f: FanOutResult): string {
  const o = f.options;
  const parts = [
    '## 6. Fan-out and tenants (PostgreSQL)',
    '',
    `Fan-out: ${whole(o.reloaders)} reloaders of one scope, spread over ${o.processes} processes; each process has one store (one connection pool and, for LISTEN, one listening connection) and, for Redis, one notifier (one subscriber connection) shared by its reloaders, whose builds are a constant (this measures delivery, not a router build). ` +
      `The writer commits ${o.commits} changes 200–400 ms apart; for each, the time from its commit until every reloader served it (wall clock, shared by the processes).`,
    '',
    table(
      [
        'channel',
        'reloaders',
        'processes',
        'commits',
        'all reloaders p50 ms',
        'p99 ms',
        'max ms',
        'each reloader p50 / p99 ms',
        'start of one process’s reloaders, ms',
      ],
      f.rows.map((r) =>
        r.skipped
          ? [r.channel, `not measured: ${r.skipped}`, '', '', '', '', '', '', '']
          : [
              r.channel,
              whole(r.reloaders),
              String(r.processes),
              String(r.commits),
              fixed(r.allReloaders.p50, 1),
              fixed(r.allReloaders.p99, 1),
              fixed(r.allReloaders.max, 1),
              `${fixed(r.eachReloader.p50, 1)} / ${fixed(r.eachReloader.p99, 1)}`,
              fixed(r.startMs, 0),
            ],
      ),
    ),
  ];
  const t = f.tenants;
  if (t) {
    parts.push(
      '',
      `Tenants: ${whole(t.scopes)} scopes in one process, one reloader each, sharing one Postgres store and its one LISTEN connection. ` +
        'Heap is what the reloaders hold after their first builds (full GC, less the heap before the first was created); one commit in one scope, then builds counted in every scope.',
      '',
      table(
        [
          'scopes',
          'start all, ms',
          'heap MB',
          'heap per scope KB',
          'process RSS MB',
          'rebuilt in the changed scope',
          'rebuilt in the other scopes',
          'commit to served, ms',
        ],
        [
          [
            whole(t.scopes),
            fixed(t.startMs, 0),
            fixed(t.heapMb, 1),
            fixed(t.heapKbPerScope, 1),
            fixed(t.rssMb, 0),
            String(t.rebuiltInScope),
            String(t.rebuiltElsewhere),
            fixed(t.propagationMs, 1),
          ],
        ],
      ),
    );
  }
  return parts.join('\n');
}
