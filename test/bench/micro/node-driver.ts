/**
 * Drives a Node request listener `(req, res) => void` with real `http.IncomingMessage` and `http.ServerResponse`
 * objects on a stub socket: no parser, no syscall, no event loop turn unless the framework itself waits for one.
 * Every framework (Express, Koa, Fastify, NestJS on Express, and Hono through @hono/node-server) is driven the
 * same way, so what the harness costs per request is the same for the bare framework and for apphook, and small
 * (the `harness` variant, a listener that only ends the response, measures it).
 */
import { IncomingMessage, type RequestListener, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';

/** The socket a request and its response hold: accepts writes, reports nothing, never closes by itself. */
class StubSocket extends Duplex {
  /** Bytes the response wrote (status line, headers, body), for the sanity check. */
  written: string[] | undefined;
  /** Called once the response has handed its last bytes to the socket. */
  onEnd: (() => void) | undefined;
  override _read(): void {}
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.written?.push(typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    callback();
  }
}

// Read by frameworks that look at the peer (Fastify's request.ip, Express's req.ip): a fixed loopback peer.
Object.defineProperties(StubSocket.prototype, {
  remoteAddress: { value: '127.0.0.1' },
  remotePort: { value: 40000 },
  encrypted: { value: false },
});

export interface DrivenResponse {
  status: number;
  /** Everything written to the socket: status line, headers and body. */
  raw: string;
}

/**
 * Sends one GET of `path` to `listener` and resolves when its response has ended. `capture` keeps the bytes
 * written (for the check before measuring; off while measuring).
 */
export function drive(
  listener: RequestListener,
  path: string,
  capture = false,
): Promise<DrivenResponse> | undefined {
  const socket = new StubSocket();
  if (capture) socket.written = [];
  const req = new IncomingMessage(socket as never);
  req.method = 'GET';
  req.url = path;
  req.headers = HEADERS;
  req.rawHeaders = RAW_HEADERS;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  // A GET has no body: the request stream is complete before the listener sees it, as after the parser.
  req.complete = true;
  req.push(null);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = true;
  res.assignSocket(socket as never);
  let ended = false;
  let resolveEnd: ((r: DrivenResponse) => void) | undefined;
  const result = (): DrivenResponse => ({ status: res.statusCode, raw: socket.written?.join('') ?? '' });
  res.once('finish', () => {
    ended = true;
    res.detachSocket(socket as never);
    resolveEnd?.(result());
  });
  listener(req, res);
  // A framework that answered synchronously costs no promise; one that answers later (Koa, Fastify, Hono's
  // async handlers) costs the same promise for the bare and the apphook variant.
  if (ended && !capture) return undefined;
  if (ended) return Promise.resolve(result());
  return new Promise((resolve) => {
    resolveEnd = resolve;
  });
}

const HEADERS = { host: 'localhost', 'user-agent': 'apphook-micro', accept: '*/*' };
const RAW_HEADERS = Object.entries(HEADERS).flat();
