/**
 * What one process says about one scope, and the strict parser every reader uses. Announcements are untrusted
 * input (anyone who can write to the Redis or the table can write one): a reader never throws on them, bounds
 * what it reads, and accepts a version only when it is a non-negative safe integer, so a forged `"10"`, `[10]`,
 * `true` or `1e400` can never count as serving version 10 (G13, in the spirit of G10).
 */
import { isValidScope, type ReloaderMode, type Version } from '@apphook/core';

export const ANNOUNCEMENT_FORMAT = 1;
/** Payloads longer than this are not parsed. A real one is well under 1 KB. */
export const MAX_ANNOUNCEMENT_BYTES = 4096;
export const MAX_NAME_LENGTH = 100;
export const MAX_ERROR_MESSAGE_LENGTH = 500;
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

export interface AnnouncedError {
  phase: string;
  code: string;
  message: string;
  at: number;
}

/** One process's announcement for one scope. */
export interface Announcement {
  format: typeof ANNOUNCEMENT_FORMAT;
  scope: string;
  /** Unique per process and reloader: `host:pid:random`. */
  id: string;
  host: string;
  pid: number;
  /** The name the app gave this process (`announce(reloader, { name })`), else `host:pid`. */
  name: string;
  mode: ReloaderMode;
  /** Version served, `null` before the first build. */
  version: Version | null;
  /** Highest committed version this process has seen. */
  latestSeen: Version | null;
  channelsHealthy: boolean;
  lastBuildAt: number | null;
  lastBuildMs: number | null;
  lastError: AnnouncedError | null;
  startedAt: number;
  /** When this announcement was written (the writer's clock). */
  seenAt: number;
  /** The writer's TTL: a process not heard from for this long is gone. */
  ttlMs: number;
}

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isShortString = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max;
const MODES = new Set(['push', 'interval', 'request']);

/** Why a payload was rejected, or the announcement. Never throws, whatever `payload` holds. */
export function parseAnnouncement(
  payload: unknown,
  expected: { scope: string; id: string },
): { ok: true; announcement: Announcement } | { ok: false; reason: string } {
  if (typeof payload !== 'string') return { ok: false, reason: 'not a string' };
  if (payload.length > MAX_ANNOUNCEMENT_BYTES)
    return { ok: false, reason: `larger than ${MAX_ANNOUNCEMENT_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, reason: 'not an object' };
  const a = raw as Record<string, unknown>;
  if (a.format !== ANNOUNCEMENT_FORMAT) return { ok: false, reason: 'unknown format' };
  // The entry must describe the key it was stored under: a copy under another scope or id is forged.
  if (a.scope !== expected.scope || !isValidScope(a.scope)) return { ok: false, reason: 'wrong scope' };
  if (a.id !== expected.id || !isValidId(a.id)) return { ok: false, reason: 'wrong id' };
  if (!isShortString(a.host, 255)) return { ok: false, reason: 'bad host' };
  if (!isShortString(a.name, MAX_NAME_LENGTH)) return { ok: false, reason: 'bad name' };
  if (!(typeof a.pid === 'number' && Number.isSafeInteger(a.pid) && a.pid > 0))
    return { ok: false, reason: 'bad pid' };
  if (typeof a.mode !== 'string' || !MODES.has(a.mode)) return { ok: false, reason: 'bad mode' };
  if (a.version !== null && !isVersion(a.version)) return { ok: false, reason: 'bad version' };
  if (a.latestSeen !== null && !isVersion(a.latestSeen)) return { ok: false, reason: 'bad latestSeen' };
  if (typeof a.channelsHealthy !== 'boolean') return { ok: false, reason: 'bad channelsHealthy' };
  for (const key of ['lastBuildAt', 'lastBuildMs'] as const) {
    if (a[key] !== null && !isTime(a[key])) return { ok: false, reason: `bad ${key}` };
  }
  if (!isTime(a.startedAt) || !isTime(a.seenAt)) return { ok: false, reason: 'bad timestamps' };
  if (!(isTime(a.ttlMs) && a.ttlMs > 0)) return { ok: false, reason: 'bad ttlMs' };
  let lastError: AnnouncedError | null = null;
  if (a.lastError !== null) {
    const e = a.lastError as Record<string, unknown> | undefined;
    if (
      !e ||
      typeof e !== 'object' ||
      !isShortString(e.phase, 40) ||
      !isShortString(e.code, 40) ||
      typeof e.message !== 'string' ||
      e.message.length > MAX_ERROR_MESSAGE_LENGTH ||
      !isTime(e.at)
    )
      return { ok: false, reason: 'bad lastError' };
    lastError = { phase: e.phase, code: e.code, message: e.message, at: e.at };
  }
  // Copy field by field: nothing the writer added beyond the format reaches the caller.
  return {
    ok: true,
    announcement: {
      format: ANNOUNCEMENT_FORMAT,
      scope: a.scope,
      id: a.id,
      host: a.host,
      pid: a.pid,
      name: a.name,
      mode: a.mode as ReloaderMode,
      version: a.version as Version | null,
      latestSeen: a.latestSeen as Version | null,
      channelsHealthy: a.channelsHealthy,
      lastBuildAt: a.lastBuildAt as number | null,
      lastBuildMs: a.lastBuildMs as number | null,
      lastError,
      startedAt: a.startedAt,
      seenAt: a.seenAt,
      ttlMs: a.ttlMs,
    },
  };
}

/** Cuts a string to `max` characters, so what a process announces always parses. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
