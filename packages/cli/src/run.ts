/**
 * `apphook status` and `apphook wait`. Exit codes (documented in the README and docs/operations.md):
 * 0 ok (status printed; wait: every live process serves the version), 1 wait timed out (laggards printed),
 * 2 bad arguments, 3 the fleet could not be read (connection, missing table).
 */
import { parseArgs } from 'node:util';
import { isApphookError } from '@apphook/core';
import { FleetLagError, fleetView } from '@apphook/fleet';
import { connect } from './connect.js';
import { formatFleet, formatLaggards } from './format.js';

export const EXIT = { ok: 0, lagging: 1, usage: 2, unavailable: 3 } as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `usage:
  apphook status (--db URL | --redis URL) [--scope S] [--table T | --prefix P] [--json]
  apphook wait --version N (--db URL | --redis URL) [--scope S] [--timeout 60s] [--min 1] [--json]

exit codes: 0 ok, 1 wait timed out (laggards printed), 2 bad arguments, 3 fleet unreadable`;

function duration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 's' || m[2] === undefined ? 1000 : 1);
}

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        redis: { type: 'string' },
        scope: { type: 'string', default: 'default' },
        table: { type: 'string' },
        prefix: { type: 'string' },
        version: { type: 'string' },
        timeout: { type: 'string', default: '60s' },
        min: { type: 'string', default: '1' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  try {
    parsed = parse();
  } catch (error) {
    io.err(`[apphook/cli] ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (command !== 'status' && command !== 'wait') {
    io.err(`[apphook/cli] unknown command '${command}'\n${USAGE}`);
    return EXIT.usage;
  }
  const timeoutMs = duration(values.timeout);
  const min = Number(values.min);
  const version = values.version === undefined ? undefined : Number(values.version);
  if (command === 'wait' && (version === undefined || !Number.isSafeInteger(version) || version < 0)) {
    io.err(`[apphook/cli] wait needs --version N (a non-negative whole number)\n${USAGE}`);
    return EXIT.usage;
  }
  if (timeoutMs === undefined || !Number.isInteger(min) || min < 0) {
    io.err(`[apphook/cli] --timeout takes 500ms, 30s or 2m; --min a whole number\n${USAGE}`);
    return EXIT.usage;
  }

  let connection: Awaited<ReturnType<typeof connect>>;
  try {
    connection = await connect(values);
  } catch (error) {
    const usage = isApphookError(error) && error.code === 'E_OPTION';
    io.err(`${error instanceof Error ? error.message : String(error)}${usage ? `\n${USAGE}` : ''}`);
    return usage ? EXIT.usage : EXIT.unavailable;
  }
  try {
    const view = fleetView({ backend: connection.backend });
    if (command === 'status') {
      const snapshot = await view.fleet(values.scope);
      io.out(values.json ? JSON.stringify(snapshot) : formatFleet(snapshot));
      return EXIT.ok;
    }
    try {
      const snapshot = await view.waitForFleet(values.scope, version!, { timeoutMs, minMembers: min });
      io.out(
        values.json
          ? JSON.stringify(snapshot)
          : `scope '${values.scope}': live on ${snapshot.members.length} of ${snapshot.members.length} at version ${version} or later`,
      );
      return EXIT.ok;
    } catch (error) {
      if (!(error instanceof FleetLagError)) throw error;
      io.err(
        values.json
          ? JSON.stringify({ error: error.message, laggards: error.laggards })
          : `${error.message}\n${formatLaggards(error.laggards)}`,
      );
      return EXIT.lagging;
    }
  } catch (error) {
    io.err(error instanceof Error ? error.message : String(error));
    return isApphookError(error) && error.code === 'E_OPTION' ? EXIT.usage : EXIT.unavailable;
  } finally {
    await connection.close().catch(() => {});
  }
}
