/** Report sections added with the in-process microbenchmark and the storm comparison. */

import { STORM_BASELINE } from '../channels/groups.js';
import type { ChannelResult } from '../channels/run-channels.js';
import type { FanOutResult } from '../fan-out/run-fan-out.js';
import { fixed, whole } from '../lib/stats.js';
import type { MicroResult } from '../micro/run-micro.js';
import { type BenchSettings, table } from './markdown.js';

const ci = (c: [number, number]) => `[${fixed(c[0], 3)}–${fixed(c[1], 3)}]`;

export function microSection(micro: MicroResult): string {
  const o = micro.options;
  return [
    '## 1b. What apphook adds to one request, in-process',
    '',
    `Per binding, one process (pinned to one core) holds the same ${o.routes}-route app five ways: the bare framework (its own router, no apphook) and apphook in push, interval and request mode on an in-memory store. ` +
      `One iteration is one GET of the middle route sent in-process (light-my-request for Express, Koa and NestJS, \`fastify.inject\`, \`hono.request\`), with no socket and no load generator. tinybench runs the variants in ${o.rounds} interleaved rounds of ${o.timeMs} ms each (order rotated every round). ` +
      'CPU ns/req is the process’s user + system time over the measured phase divided by the iterations; "added" is the variant’s CPU per request less bare’s in the same round (median, 95 % bootstrap CI); the ratio is bare’s CPU per request over the variant’s (≥ 0.98 is the target). ' +
      'The bare row is the framework’s own CPU time per request, the scale against which apphook’s cost is set.',
    '',
    table(
      [
        'binding',
        'variant',
        'CPU ns/req',
        'wall ns/req',
        'added ns [95 % CI]',
        'ratio to bare [95 % CI]',
        'iterations',
      ],
      micro.rows.map((r) => [
        r.binding,
        r.variant,
        whole(r.cpuNs),
        whole(r.wallNs),
        r.variant === 'bare'
          ? '–'
          : `${whole(r.addedNs)} [${whole(r.addedNsCI[0])}–${whole(r.addedNsCI[1])}]`,
        r.variant === 'bare' ? '1' : `${fixed(r.ratio, 3)} ${ci(r.ratioCI)}`,
        whole(r.iterations),
      ]),
    ),
    '',
    'Request mode is here for its in-process cost only (a shared read of an in-memory store per request); its target, ≥ 2 × the naive design, is an end-to-end one (section 1).',
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

export function stormComparison(channels: ChannelResult[]): string {
  const baseline = channels.find((c) => c.group.id === STORM_BASELINE);
  const rows = channels.filter((c) => c.group.pushTarget && c.storm);
  if (!baseline?.storm || rows.length === 0) return '';
  return [
    `Push storms side by side with the interval storm of the same run (${baseline.group.label}), whose workers rebuild at most once a second and so leave the writer alone:`,
    '',
    table(
      [
        'push channel',
        'writer commits/s',
        'interval commits/s',
        'ratio (≥ 0.80)',
        'converged after the last commit (≤ 100 ms + one rebuild)',
      ],
      rows.map((c) => {
        const s = c.storm!;
        const ratio = s.commitsPerSec / baseline.storm!.commitsPerSec;
        return [
          c.group.label,
          whole(s.commitsPerSec),
          whole(baseline.storm!.commitsPerSec),
          `${fixed(ratio, 2)} ${ratio >= 0.8 ? '✅' : '❌'}`,
          `${fixed(s.convergenceLessRebuildMs, 1)} ms + ${fixed(s.lastRebuildMs, 1)} ms ${s.convergenceLessRebuildMs <= 100 ? '✅' : '❌'}`,
        ];
      }),
    ),
  ].join('\n');
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
