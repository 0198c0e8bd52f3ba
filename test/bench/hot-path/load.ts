/** The hot path's load: autocannon against one server, over ten paths spread across the table. */
import autocannon from 'autocannon';

export type LoadLimit = { duration: number } | { amount: number };

/** Ten paths spread over the table: Express matches routes in order, so the position matters. */
export function spreadRequests(paths: readonly string[]): Array<{ method: 'GET'; path: string }> {
  return Array.from({ length: 10 }, (_, k) => ({
    method: 'GET' as const,
    path: paths[Math.floor(((k + 0.5) * paths.length) / 10)]!,
  }));
}

/** A load function for servers on loopback: `load(port, limit)`. */
export function loader(
  paths: readonly string[],
  connections: number,
): (port: number, limit: LoadLimit) => ReturnType<typeof autocannon> {
  const requests = spreadRequests(paths);
  return (port: number, limit: LoadLimit) =>
    autocannon({ url: `http://127.0.0.1:${port}`, connections, pipelining: 1, requests, ...limit });
}
