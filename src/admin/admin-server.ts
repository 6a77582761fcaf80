/**
 * The admin listener (`--admin HOST:PORT`): liveness and readiness probes, on a port of their own
 * so that probes never queue behind proxied traffic and the proxy port stays free of reserved paths.
 * Liveness answers 200 while the event loop turns; readiness is readiness.ts's report, as JSON.
 * More endpoints (the directory's, src/directory/directory-routes.ts) are served here too when given,
 * each set of routes asked in order.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { replyJson as reply } from './json-reply.js';
import { LIVENESS_PATH, READINESS_PATH } from './probes.js';
import type { Readiness } from './readiness.js';

/** More endpoints on the admin listener (the directory's, the metrics, the page). */
export interface AdminRoutes {
  /** The paths it answers, for the 404 message. */
  readonly paths: readonly string[];
  /** Answers the request and returns true when its path is one of `paths`; false otherwise, with nothing written. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export class AdminServer {
  readonly #server: Server;
  readonly #readiness: Readiness;
  readonly #routes: readonly AdminRoutes[];
  #address: { host: string; port: number } | null = null;

  constructor(readiness: Readiness, routes: readonly AdminRoutes[] = []) {
    this.#readiness = readiness;
    this.#routes = routes;
    this.#server = createServer((req, res) => this.#handle(req, res));
    // Probes are short; a client that holds a connection open must not delay shutdown.
    this.#server.keepAliveTimeout = 1_000;
  }

  /** Where it listens (the port the kernel chose for port 0); null before listen(). */
  get address(): { host: string; port: number } | null {
    return this.#address;
  }

  /** @throws the socket error (EADDRINUSE, EACCES) */
  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const a = this.#server.address() as AddressInfo;
        this.#address = { host: a.address, port: a.port };
        resolve(this.#address);
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
    for (const routes of this.#routes) if (routes.handle(req, res)) return;
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
    const known = [LIVENESS_PATH, READINESS_PATH, ...this.#routes.flatMap((r) => r.paths)];
    reply(res, 404, { error: `no admin endpoint at ${url.pathname}: try ${known.slice(0, -1).join(', ')} or ${known.at(-1)!}` });
  }
}
