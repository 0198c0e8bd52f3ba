/**
 * Where the real servers are, and what to do when one is unreachable: locally a suite skips with a printed
 * reason; with CI=true an unreachable server is a failure (no silent skips in CI).
 */
import net from 'node:net';

export const services = {
  postgres: process.env.APPHOOK_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
  mysql: process.env.APPHOOK_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  redis: process.env.APPHOOK_REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const;

export const isCI = process.env.CI === 'true' || process.env.CI === '1';

/** Resolves true when something accepts TCP connections at the URL's host and port. */
export function reachable(url: string, timeoutMs = 1500): Promise<boolean> {
  const parsed = new URL(url);
  const defaults: Record<string, number> = {
    'postgresql:': 5432,
    'postgres:': 5432,
    'mysql:': 3306,
    'redis:': 6379,
  };
  const port = Number(parsed.port || defaults[parsed.protocol] || 0);
  return new Promise((resolve) => {
    const socket = net.connect({ host: parsed.hostname, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * For `describe.skipIf(!(await requireService(...)))`: true when the server answers. When it does not,
 * prints why and returns false locally; throws under CI so the run fails instead of skipping.
 */
export async function requireService(name: keyof typeof services): Promise<boolean> {
  const url = services[name];
  if (await reachable(url)) return true;
  const message = `[apphook tests] ${name} is not reachable at ${url}; set APPHOOK_${name === 'postgres' ? 'PG' : name.toUpperCase()}_URL or start it (see DESIGN.md)`;
  if (isCI) throw new Error(`${message}. CI=true: an unreachable server is a failure.`);
  console.warn(`${message}. Skipping these tests locally.`);
  return false;
}
