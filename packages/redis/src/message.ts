import { isValidScope, type Version } from '@apphook/core';

/** Wire format version. A message with any other `v` is ignored, so a newer publisher cannot confuse an older subscriber. */
export const MESSAGE_FORMAT = 1;

/** What a valid hint carries. The version is informative only: subscribers never take it (G10). */
export interface HintMessage {
  scope: string;
  version: Version;
}

export type DecodedMessage =
  | { ok: true; message: HintMessage }
  | { ok: false; reason: 'oversized' | 'malformed' };

/** `{"v":1,"scope":"tenant:42","version":7}`: small, versioned, and readable in `redis-cli monitor`. */
export function encodeMessage(scope: string, version: Version): string {
  return JSON.stringify({ v: MESSAGE_FORMAT, scope, version });
}

/**
 * Validates a raw message from the channel. Anyone who can publish on the channel can send anything, so the
 * size is checked before a byte is decoded and every field is checked after (G10). Never throws.
 */
export function decodeMessage(raw: Buffer | string, maxBytes: number): DecodedMessage {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > maxBytes) return { ok: false, reason: 'oversized' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'malformed' };
  }
  const { v, scope, version } = parsed as Record<string, unknown>;
  if (v !== MESSAGE_FORMAT || !isValidScope(scope)) return { ok: false, reason: 'malformed' };
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    return { ok: false, reason: 'malformed' };
  }
  return { ok: true, message: { scope, version } };
}
