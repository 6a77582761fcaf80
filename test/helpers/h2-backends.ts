/**
 * Real HTTP/2 backends on 127.0.0.1 ephemeral ports (h2c, or TLS with the test certificate), for
 * tests of `h2c://` and `h2://` endpoints. By default each answers `200 <name>` with an
 * `x-backend` header, echoes a request body back, and sends an `x-trailer` trailer. Always close
 * them (`closeH2Backends`).
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';

const FIXTURES = new URL('../../../test/fixtures/tls/', import.meta.url);
/** The test certificate (CN localhost, SAN 127.0.0.1 and ::1) and its key, PEM. */
export const TEST_CERT = readFileSync(new URL('cert.pem', FIXTURES));
export const TEST_KEY = readFileSync(new URL('key.pem', FIXTURES));

export interface H2Backend {
  readonly name: string;
  readonly port: number;
  /** `h2c://127.0.0.1:<port>` or `h2://127.0.0.1:<port>`. */
  readonly address: string;
  readonly server: Http2Server;
  readonly sessions: Set<ServerHttp2Session>;
  /** Streams received so far. */
  requests: number;
  lastHeaders: IncomingHttpHeaders | null;
  close(): Promise<void>;
}

export type H2Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, backend: H2Backend) => void;

/** Answers 200 with the name, or the request body when there is one, and a trailer. */
export const h2NameHandler: H2Handler = (stream, _headers, backend) => {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-backend': backend.name }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': backend.name }));
    stream.end(chunks.length > 0 ? Buffer.concat(chunks) : backend.name);
  });
};

export async function startH2Backend(name: string, options: { tls?: boolean; handler?: H2Handler } = {}): Promise<H2Backend> {
  const server = options.tls === true ? http2.createSecureServer({ cert: TEST_CERT, key: TEST_KEY }) : http2.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s: ServerHttp2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const handler = options.handler ?? h2NameHandler;
  const backend: H2Backend = {
    name,
    port,
    address: `${options.tls === true ? 'h2' : 'h2c'}://127.0.0.1:${port}`,
    server,
    sessions,
    requests: 0,
    lastHeaders: null,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    backend.requests++;
    backend.lastHeaders = headers;
    stream.on('error', () => undefined);
    handler(stream, headers, backend);
  });
  return backend;
}

export async function startH2Backends(count: number, options: { tls?: boolean; handler?: H2Handler; prefix?: string } = {}): Promise<H2Backend[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startH2Backend(`${options.prefix ?? 'pod'}-${i}`, options)));
}

export async function closeH2Backends(backends: readonly H2Backend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.close()));
}

export function h2EndpointSpecs(backends: readonly H2Backend[]): EndpointSpec[] {
  return backends.map((b) => ({ name: b.name, address: b.address }));
}
