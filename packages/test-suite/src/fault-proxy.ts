/**
 * A fault-injecting TCP proxy for connection tests: put it between a client and a real server (PostgreSQL,
 * Redis) and make the network misbehave on command.
 *
 * - `pass`: bytes flow (after `delayMs`, in order).
 * - `blackhole`: bytes are held, in both directions, on open and new connections, like packets a dead route
 *   swallows; `pass` again delivers them, as TCP retransmission would. Closing one side still closes the other
 *   at once, so the server's view (pg_stat_activity, CLIENT LIST) shows what the client still holds.
 * - `refuse`: new connections are reset at once, like a server that is down; open ones are not touched.
 * - `dropAll()`: resets every open connection, like a server restart or a killed backend.
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'refuse';

export interface FaultProxyOptions {
  host: string;
  port: number;
  /** Per connection: a filter of the bytes from the server to the client (for example, swallow messages). */
  downstreamFilter?: () => (chunk: Buffer) => Buffer;
}

/** One direction of one connection: chunks wait here until their time has come and the route is open. */
class Pipe {
  private readonly queue: Array<{ data: Buffer; due: number }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly to: net.Socket,
  ) {}

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.queue.push({ data, due: Date.now() + this.proxy.delayMs });
    this.pump();
  }

  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.proxy.mode !== 'blackhole' && !this.to.destroyed) {
      const wait = this.queue[0]!.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.to.write(this.queue.shift()!.data);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

export class FaultProxy {
  /** Connections accepted so far (refused ones included). */
  accepted = 0;
  delayMs = 0;
  private current: ProxyMode = 'pass';
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket; pipes: Pipe[] }>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client, options));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** `url` (postgresql://…, redis://…) with host and port replaced by the proxy's. */
  url(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  get mode(): ProxyMode {
    return this.current;
  }

  set mode(mode: ProxyMode) {
    this.current = mode;
    if (mode !== 'blackhole') for (const pair of this.pairs) for (const pipe of pair.pipes) pipe.pump();
  }

  /** Open connections. */
  get open(): number {
    return this.pairs.size;
  }

  /** Resets every open connection (both sides). */
  dropAll(): void {
    for (const pair of [...this.pairs]) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, options: FaultProxyOptions): void {
    this.accepted++;
    if (this.current === 'refuse') {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(options.port, options.host);
    const up = new Pipe(this, upstream);
    const down = new Pipe(this, client);
    const pair = { client, upstream, pipes: [up, down] };
    this.pairs.add(pair);
    const filter = options.downstreamFilter?.();
    client.on('data', (chunk: Buffer) => up.push(chunk));
    upstream.on('data', (chunk: Buffer) => down.push(filter ? filter(chunk) : chunk));
    const end = () => {
      if (!this.pairs.delete(pair)) return;
      up.stop();
      down.stop();
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('error', end).on('close', end).on('end', end);
  }
}
