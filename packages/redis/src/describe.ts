import type { RedisClient } from './options.js';

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Where the client points, for messages ("Redis at host:port"). Never includes a password. */
export function describeTarget(client: RedisClient): string {
  const options = client.options as {
    host?: string;
    port?: number;
    path?: string;
    sentinels?: Array<{ host?: string; port?: number }> | null;
    name?: string | null;
  };
  if ((client as { isCluster?: boolean }).isCluster) return 'the Redis Cluster';
  if (options.sentinels?.length) return `the Redis master '${options.name ?? 'mymaster'}' (via Sentinel)`;
  if (options.path) return `Redis at ${options.path}`;
  return `Redis at ${options.host ?? 'localhost'}:${options.port ?? 6379}`;
}
