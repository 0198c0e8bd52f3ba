import http from 'node:http';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A keep-alive HTTP client that counts its sockets, so a connection the server drops is noticed. */
export interface KeepAliveClient {
  get(path: string, method?: string): Promise<HttpResult>;
  /** Sockets opened so far. */
  readonly opened: number;
  /** Sockets that closed while the client was open: the server dropped a keep-alive connection. */
  readonly closed: number;
  destroy(): void;
}

export function keepAliveClient(baseUrl: string, maxSockets = 8): KeepAliveClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const seen = new WeakSet<object>();
  let opened = 0;
  let closed = 0;
  let destroyed = false;
  return {
    get(path, method = 'GET') {
      return new Promise((resolve, reject) => {
        const req = http.request(`${baseUrl}${path}`, { method, agent, timeout: 15_000 }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        });
        req.on('socket', (socket) => {
          if (seen.has(socket)) return;
          seen.add(socket);
          opened++;
          socket.once('close', () => {
            if (!destroyed) closed++;
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on('error', reject);
        req.end();
      });
    },
    get opened() {
      return opened;
    },
    get closed() {
      return closed;
    },
    destroy() {
      destroyed = true;
      agent.destroy();
    },
  };
}
