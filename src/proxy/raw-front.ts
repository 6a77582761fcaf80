/**
 * The raw HTTP/1.1 path: client connections served from the socket's bytes with shardgate's own
 * strict parser (src/http1/), without Node's HTTP server objects (raw-connection.ts,
 * raw-request.ts, raw-response.ts). Requests it serves go through the same route and dispatch
 * stages as every other (route.ts, dispatch.ts), so that keys, picks, retries, the queue and the
 * limits are one code.
 *
 * Which requests it serves is decided in one place, `servedByRawPath`: a request without a body or
 * with a Content-Length one, in origin form, not an upgrade, without Expect. Anything else, and any head the
 * parser refuses, takes Node's path: the connection is handed to Node's HTTP/1.1 server before
 * that request and stays there. Each path refuses malformed input the way Node answers it, since
 * the parser refuses what llhttp refuses (test/http1/differential.test.ts) and hands it to Node.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Http1Error } from '../http1/errors.js';
import type { HeadLimits } from '../http1/head-parse.js';
import type { RequestHead } from '../http1/request-head.js';
import { handToHttp1 } from './listener.js';
import type { RawConnectionHost } from './raw-connection.js';
import { RawConnection } from './raw-connection.js';
import type { RawRequest } from './raw-request.js';
import type { RawResponse } from './raw-response.js';

const SLASH = 0x2f;

/**
 * The rule: the raw path serves a request without a body or with a Content-Length one, whose
 * target is a path, with no upgrade and no Expect; Node's path serves the rest (chunked bodies,
 * Expect, WebSocket, CONNECT, absolute and asterisk targets).
 */
export function servedByRawPath(head: RequestHead): boolean {
  return head.body !== 'chunked' && !head.upgrade && head.target.charCodeAt(0) === SLASH && !hasExpect(head.headers);
}

/** Expect of any kind: 100-continue waits for an invitation, and anything else is Node's 417. */
function hasExpect(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 6 && name.toLowerCase() === 'expect') return true;
  }
  return false;
}

export interface RawFrontOptions {
  readonly limits: HeadLimits;
  /** The proxy's keep-alive idle time, as Node's server announces it in `Keep-Alive: timeout=N`. */
  readonly idleMs: number;
  readonly headersMs: number;
  readonly streamIdleMs: number;
  /** Node's HTTP/1.1 server, for what this path does not serve. */
  readonly http1: http.Server;
  /** Routes a request (the front's request accounting, then the route stage). */
  readonly request: (req: RawRequest, res: RawResponse) => void;
  /** Bytes pipelined behind `res` are not HTTP (RawConnectionHost.malformed). */
  readonly malformed: (res: RawResponse, error: Http1Error) => void;
  /** Whether the proxy is shutting down. */
  readonly closing: () => boolean;
}

export class RawFront implements RawConnectionHost {
  readonly limits: HeadLimits;
  readonly keepAliveLines: string;
  readonly headersMs: number;
  readonly idleMs: number;
  readonly streamIdleMs: number;
  readonly #options: RawFrontOptions;
  readonly #connections = new Set<RawConnection>();

  constructor(options: RawFrontOptions) {
    this.#options = options;
    this.limits = options.limits;
    this.headersMs = options.headersMs;
    this.idleMs = options.idleMs;
    this.streamIdleMs = options.streamIdleMs;
    this.keepAliveLines = options.idleMs > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.idleMs / 1000)}\r\n` : 'Connection: keep-alive\r\n';
  }

  get closing(): boolean {
    return this.#options.closing();
  }

  /** Connections on this path now. */
  get size(): number {
    return this.#connections.size;
  }

  /** A new HTTP/1.1 connection, with the bytes read from it already (the listener's sniffing). */
  accept(socket: Socket, bytes: Buffer | null): void {
    const connection = new RawConnection(socket, this);
    this.#connections.add(connection);
    if (bytes !== null && bytes.length > 0) socket.unshift(bytes);
    socket.resume();
  }

  serves(head: RequestHead): boolean {
    return servedByRawPath(head);
  }

  request(req: RawRequest, res: RawResponse): void {
    this.#options.request(req, res);
  }

  malformed(res: RawResponse, error: Http1Error): void {
    this.#options.malformed(res, error);
  }

  handOff(socket: Socket, bytes: Buffer | null): void {
    handToHttp1(this.#options.http1, socket, bytes);
  }

  closed(connection: RawConnection): void {
    this.#connections.delete(connection);
  }

  /** Shutdown: closes the connections with no request under way (the others close after their response). */
  closeIdle(): void {
    for (const c of this.#connections) if (c.idle) c.socket.destroy();
  }

  /** Shutdown, past the grace period: cuts every connection. */
  destroyAll(): void {
    for (const c of this.#connections) c.socket.destroy();
  }
}
