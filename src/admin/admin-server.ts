/**
 * The admin listener (`--admin HOST:PORT`): liveness and readiness probes, on a port of their own
 * so that probes never queue behind proxied traffic and the proxy port stays free of reserved paths.
 * Liveness answers 200 while the event loop turns; readiness is readiness.ts's report, as JSON.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIVENESS_PATH, READINESS_PATH } from './probes.js';
import type { Readiness } from './readiness.js';

export class AdminServer {
  readonly #server: Server;
  readonly #readiness: Readiness;

  constructor(readiness: Readiness) {
    this.#readiness = readiness;
    this.#server = createServer((req, res) => this.#handle(req, res));
    // Probes are short; a client that holds a connection open must not delay shutdown.
    this.#server.keepAliveTimeout = 1_000;
  }

  /** @throws the socket error (EADDRINUSE, EACCES) */
  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const a = this.#server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, { error: `${req.method ?? ''} is not allowed: the admin endpoints answer GET` }, { allow: 'GET, HEAD' });
      return;
    }
    if (url.pathname === LIVENESS_PATH) {
      reply(res, 200, { live: true });
      return;
    }
    if (url.pathname === READINESS_PATH) {
      const report = this.#readiness.report(url.searchParams.has('strict'));
      reply(res, report.ready ? 200 : 503, report);
      return;
    }
    reply(res, 404, { error: `no admin endpoint at ${url.pathname}: try ${LIVENESS_PATH} or ${READINESS_PATH}` });
  }
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
