/**
 * A plain node:http2 client for the proxy's HTTP/2 tests: a session to an h2c origin, and one
 * stream's whole answer (status, head, trailers, body). Close sessions with `closeSession`.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

export interface H2Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The trailers, or null when the response had none. */
  readonly trailers: IncomingHttpHeaders | null;
  readonly body: Buffer;
}

export function connectH2(origin: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export function closeSession(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => session.close(() => resolve()));
}

/** The answer on `stream`, read to its end; rejects if the stream fails. */
export function answerOf(stream: ClientHttp2Stream): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers, trailers, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
  });
}

/** One request on `session` (`:path` / unless given): its HEADERS end the stream when there is no body. */
export function requestH2(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Answer> {
  const stream = session.request({ ':path': '/', ...headers }, { endStream: body === undefined });
  const answer = answerOf(stream);
  if (body !== undefined) stream.end(body);
  return answer;
}
