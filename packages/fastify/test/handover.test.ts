import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { Handover } from '../src/handover.js';

function outerRequest(id: string): FastifyRequest {
  const raw = { url: '/x', method: 'GET' } as IncomingMessage;
  return { id, raw, log: { child: () => ({}) } } as unknown as FastifyRequest;
}

const res = {} as ServerResponse;

describe('the hand-over between the app request and a build', () => {
  it('serves the id of the request being routed without keeping an entry for it afterwards', () => {
    const handover = new Handover();
    const outer = outerRequest('outer-1');
    let during: string | undefined;
    // What Fastify's route handler does first, synchronously inside routing().
    expect(handover.dispatch(outer, () => (during = handover.genReqId(outer.raw)))).toBe(true);
    expect(during).toBe('outer-1');
    // Nothing kept per request once it was handled: a later lookup no longer finds it (the old WeakMap
    // entry per request, which cost half of what instance routing adds to a request, would).
    expect(handover.genReqId(outer.raw)).toMatch(/^apphook-/);
  });

  it('keeps the ticket of a request its build routes later (async constraint) and answers that late miss itself', () => {
    const handover = new Handover();
    const outer = outerRequest('outer-2');
    expect(handover.dispatch(outer, () => {})).toBe(true);
    // The negative control of the test above: unhandled during dispatch, the request keeps its ticket.
    expect(handover.genReqId(outer.raw)).toBe('outer-2');
    const written: unknown[] = [];
    const late = {
      writeHead: (status: number) => written.push(status),
      end: (body: string) => written.push(JSON.parse(body).statusCode),
    } as unknown as ServerResponse;
    handover.defaultRoute(outer.raw, late);
    expect(written).toEqual([404, 404]);
  });

  it('reports a synchronous miss, and routes a request nested in another one with its own ticket', () => {
    const handover = new Handover();
    const outer = outerRequest('outer-3');
    const inner = outerRequest('inner');
    const seen: string[] = [];
    const matched = handover.dispatch(outer, () => {
      expect(handover.dispatch(inner, () => handover.defaultRoute(inner.raw, res))).toBe(false);
      seen.push(handover.genReqId(outer.raw));
    });
    expect(matched).toBe(true);
    expect(seen).toEqual(['outer-3']);
  });
});
