import { ApphookError, isValidScope } from '@apphook/core';
import type pg from 'pg';

const WHERE = '[apphook/postgresql]';

/** What a NOTIFY payload on the store's channel turned out to be. Payloads are untrusted (G10). */
export type ListenPayload =
  | { kind: 'hint'; scope: string }
  | { kind: 'selftest'; nonce: string }
  | { kind: 'ignored' };

export function parsePayload(payload: string | undefined, maxBytes: number): ListenPayload {
  if (payload === undefined || payload.length > maxBytes) return { kind: 'ignored' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return { kind: 'ignored' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'ignored' };
  const record = parsed as Record<string, unknown>;
  if (typeof record.selftest === 'string') return { kind: 'selftest', nonce: record.selftest };
  // Only the scope is used: the version in the payload is never trusted (G10).
  return isValidScope(record.scope) ? { kind: 'hint', scope: record.scope } : { kind: 'ignored' };
}

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where the LISTEN client points, without the password: `postgres@127.0.0.1:5432/app`. */
export function describeClient(client: pg.Client): string {
  return `${client.user ?? '?'}@${client.host ?? '?'}:${client.port ?? '?'}/${client.database ?? '?'}`;
}

/**
 * The server could not be reached, or refused us (password, database, too many connections). Polling would
 * read from the same server, so `mode: 'interval'` is not the advice here (issue 12).
 */
export function unreachableError(client: pg.Client, error: unknown): ApphookError {
  return new ApphookError(
    'E_CONNECTION',
    `${WHERE} could not open the LISTEN connection to PostgreSQL at ${describeClient(client)}: ${text(error)}. Check that the server is running and reachable from here and that host, port, user, password and database are right (the store uses the ORM's connection settings, or the listenConnection option)`,
    { cause: error },
  );
}

/**
 * Connected, but LISTEN itself failed or its notifications never come back: a pooler between us and the
 * server. Here a direct connection for LISTEN, or polling, does help.
 */
export function poolerError(channel: string, detail: string, cause?: unknown): ApphookError {
  return new ApphookError(
    'E_CONNECTION',
    `${WHERE} LISTEN on "${channel}" ${detail}. A pooler in transaction or statement mode (PgBouncer, for example) cannot carry LISTEN: give the store a direct or session-mode connection with the listenConnection option, or choose mode 'interval'. Reloaders fall back to polling meanwhile.`,
    cause === undefined ? undefined : { cause },
  );
}

export function listenFailedError(channel: string, error: unknown): ApphookError {
  return poolerError(channel, `was refused although the server answered (${text(error)})`, error);
}

export function lostError(error: unknown): ApphookError {
  return new ApphookError(
    'E_CONNECTION',
    `${WHERE} the LISTEN connection was lost (${text(error)}); reconnecting, reloaders poll meanwhile`,
    { cause: error },
  );
}

export function closedError(detail?: string): ApphookError {
  return new ApphookError(
    'E_STATE',
    `${WHERE} the store was closed${detail ? ` ${detail}` : ''}; create a new store`,
  );
}
