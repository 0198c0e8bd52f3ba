import type { BuildInfo } from '@apphook/example-pages-site/site';
import type { WorkerHandle } from '@apphook/example-pages-site/spawn';

/** What the database held when each version committed: the writer records it inside each transaction. */
export class CommittedHistory {
  private readonly byVersion = new Map<number, { hash: string; paths: string[] }>();

  record(version: number, hash: string, paths: string[]): void {
    this.byVersion.set(version, { hash, paths });
  }

  get(version: number): { hash: string; paths: string[] } | undefined {
    return this.byVersion.get(version);
  }

  get last(): number {
    return Math.max(-1, ...this.byVersion.keys());
  }
}

/**
 * Every build a worker swapped in must hold exactly the routes committed at the version its snapshot belonged to,
 * and never older data than the version it claims. Returns one readable line per violation, naming the worker,
 * the version and the routes that were wrong.
 */
export function buildViolations(workers: readonly WorkerHandle[], history: CommittedHistory): string[] {
  const problems: string[] = [];
  for (const worker of workers) {
    for (const build of worker.builds) {
      const problem = checkBuild(worker.name, build, history);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}

export function checkBuild(worker: string, build: BuildInfo, history: CommittedHistory): string | undefined {
  if (build.dataVersion < build.version) {
    return `${worker} served version ${build.version} built from older data (version ${build.dataVersion})`;
  }
  const committed = history.get(build.dataVersion);
  if (!committed) return undefined; // a version this run did not write (the seed): nothing to compare
  if (committed.hash === build.hash) return undefined;
  const missing = committed.paths.filter((p) => !build.paths.includes(p));
  const extra = build.paths.filter((p) => !committed.paths.includes(p));
  const detail =
    missing.length || extra.length
      ? `${missing.length ? `missing ${missing.slice(0, 5).join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `extra ${extra.slice(0, 5).join(', ')}` : ''}`
      : 'same paths, different titles';
  return `${worker} served version ${build.version} with routes that differ from what was committed at version ${build.dataVersion}: ${detail}`;
}

/** Builds per worker, for the printed summaries. */
export function rebuildCounts(workers: readonly WorkerHandle[]): string {
  return workers.map((w) => `${w.name}: ${w.builds.length}`).join(', ');
}
