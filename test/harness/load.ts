/**
 * Keeps requests flowing to every worker during a scenario and records what each response says about the build
 * that served it (`X-Apphook-Version`, `X-Route-Hash`), so a scenario can check responses, not only builds.
 */
export interface LoadTarget {
  name: string;
  url: string;
}

export interface LoadReport {
  requests: number;
  byStatus: Record<string, number>;
  /** Responses with status >= 500, by worker. */
  serverErrors: Array<{ worker: string; path: string; status: number; body: string }>;
  /** Connection failures, by worker (expected only for a worker the scenario killed on purpose). */
  networkErrors: Record<string, number>;
  /** (worker, version, hash) triples seen in responses of dynamic routes. */
  served: Array<{ worker: string; version: number; hash: string }>;
}

export interface Load {
  /** Stops the loops and waits for requests in flight. */
  stop(): Promise<LoadReport>;
}

/**
 * `concurrency` loops, each sending one request at a time round robin over the targets and over `paths()`.
 * Bounded: it stops after `maxMs` whatever happens.
 */
export function startLoad(
  targets: () => LoadTarget[],
  paths: () => string[],
  options: { concurrency?: number; maxMs?: number } = {},
): Load {
  const report: LoadReport = { requests: 0, byStatus: {}, serverErrors: [], networkErrors: {}, served: [] };
  const seen = new Set<string>();
  let running = true;
  const deadline = Date.now() + (options.maxMs ?? 120_000);
  let turn = 0;

  async function loop(): Promise<void> {
    while (running && Date.now() < deadline) {
      const list = targets();
      const pathList = paths();
      if (list.length === 0 || pathList.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const target = list[turn % list.length]!;
      const path = pathList[Math.floor(turn / list.length) % pathList.length]!;
      turn++;
      try {
        const res = await fetch(target.url + path, { signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        report.requests++;
        report.byStatus[res.status] = (report.byStatus[res.status] ?? 0) + 1;
        if (res.status >= 500) {
          report.serverErrors.push({
            worker: target.name,
            path,
            status: res.status,
            body: body.slice(0, 200),
          });
        }
        const version = res.headers.get('x-apphook-version');
        const hash = res.headers.get('x-route-hash');
        if (version !== null && hash !== null) {
          const key = `${target.name}|${version}|${hash}`;
          if (!seen.has(key)) {
            seen.add(key);
            report.served.push({ worker: target.name, version: Number(version), hash });
          }
        }
      } catch {
        report.networkErrors[target.name] = (report.networkErrors[target.name] ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  const loops = Array.from({ length: options.concurrency ?? 8 }, () => loop());
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}
