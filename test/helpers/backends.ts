/**
 * Real HTTP backends on 127.0.0.1 ephemeral ports, for tests and demos that need pods: each
 * counts its requests, remembers the last request's headers and, by default, answers
 * `200 <name>` with an `x-backend: <name>` header after reading the whole request body.
 * Always close them (`closeBackends`), which also drops keep-alive connections.
 */
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';

export interface Backend {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:<port>`, as an endpoint spec takes it. */
  readonly address: string;
  readonly server: http.Server;
  /** Requests received so far (counted when they arrive, before the handler runs). */
  requests: number;
  /** Headers of the last request, as received. */
  lastHeaders: IncomingHttpHeaders | null;
  close(): Promise<void>;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, backend: Backend) => void;

/** Reads the body, then answers 200 with the backend's name. */
export const nameHandler: BackendHandler = (req, res, backend) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': backend.name });
    res.end(backend.name);
  });
};

export async function startBackend(name: string, handler: BackendHandler = nameHandler): Promise<Backend> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const backend: Backend = {
    name,
    port,
    address: `127.0.0.1:${port}`,
    server,
    requests: 0,
    lastHeaders: null,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    backend.requests++;
    backend.lastHeaders = req.headers;
    handler(req, res, backend);
  });
  return backend;
}

/** `count` backends named `<prefix>-0` .. `<prefix>-(count-1)`. */
export async function startBackends(count: number, prefix = 'pod', handler?: BackendHandler): Promise<Backend[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startBackend(`${prefix}-${i}`, handler)));
}

export async function closeBackends(backends: readonly Backend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.close()));
}

/**
 * Stops a backend as a pod stops on SIGTERM: no new connections, requests under way answered,
 * idle keep-alive connections closed (a client that sends on one as it closes sees a reset);
 * resolves once every connection is gone. Its port refuses connections from the start.
 */
export async function closeGracefully(backend: Backend): Promise<void> {
  const server = backend.server;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A connection that was busy when close() came turns idle once its response is out.
  const sweep = setInterval(() => server.closeIdleConnections(), 5);
  server.closeIdleConnections();
  try {
    await closed;
  } finally {
    clearInterval(sweep);
  }
}

/**
 * Listens again on the backend's own port after a close, as a restarted pod does. Meanwhile the
 * port is free for anyone: an outgoing connection (even one to this very port) can be given it as
 * its local port, so EADDRINUSE is tried again every 20 ms, for up to 5 s.
 */
export async function relisten(backend: Backend): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        backend.server.once('error', reject);
        backend.server.listen(backend.port, '127.0.0.1', () => {
          backend.server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Endpoint specs (name and address) for the backends. */
export function endpointSpecs(backends: readonly Backend[]): EndpointSpec[] {
  return backends.map((b) => ({ name: b.name, address: b.address }));
}

/** A loopback port that nothing listens on (bound, then released): connecting is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
