import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../src/index.js';

describe('the wire format: small versioned JSON, validated before use (G10)', () => {
  it('round-trips a hint', () => {
    const raw = encodeMessage('tenant:42', 7);
    expect(raw).toBe('{"v":1,"scope":"tenant:42","version":7}');
    expect(decodeMessage(Buffer.from(raw), 1024)).toEqual({
      ok: true,
      message: { scope: 'tenant:42', version: 7 },
    });
  });

  it('fits the longest scope and the largest version well under the default limit', () => {
    expect(Buffer.byteLength(encodeMessage('s'.repeat(191), Number.MAX_SAFE_INTEGER))).toBeLessThan(300);
  });

  it('drops an oversized message by its byte length, not its character count', () => {
    expect(decodeMessage('é'.repeat(300), 512)).toEqual({ ok: false, reason: 'oversized' });
    expect(decodeMessage(Buffer.alloc(513, 0x7b), 512)).toEqual({ ok: false, reason: 'oversized' });
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a newer format', '{"v":2,"scope":"a","version":1}'],
    ['no format', '{"scope":"a","version":1}'],
    ['a bad scope', '{"v":1,"scope":"a b","version":1}'],
    ['an empty scope', '{"v":1,"scope":"","version":1}'],
    ['a negative version', '{"v":1,"scope":"a","version":-1}'],
    ['a fractional version', '{"v":1,"scope":"a","version":0.5}'],
    ['an unsafe version', '{"v":1,"scope":"a","version":9007199254740993}'],
    ['a string version', '{"v":1,"scope":"a","version":"1"}'],
  ])('calls %s malformed', (_label, raw) => {
    expect(decodeMessage(raw, 1024)).toEqual({ ok: false, reason: 'malformed' });
  });
});
