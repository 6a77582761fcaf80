/**
 * A maximum client connection age, as gRPC's MAX_CONNECTION_AGE (gRFC A9) and Envoy's
 * max_connection_duration do it. A fleet of proxies behind a ClusterIP Service has the problem
 * shardgate solves, one level up: kube-proxy picks a replica when a connection opens, so a
 * keep-alive or HTTP/2 client stays on one replica for as long as its connection lives, and a
 * replica added later gets none of it. Ending every connection after an age, gracefully, makes
 * clients reconnect, and each reconnect is a new pick among the replicas there are now.
 *
 * - The age of each connection is `ageMs` ± 10 %, drawn from the injected Rng (gRPC's jitter), so
 *   that connections opened together (a client pool, every client after a rollout) do not all
 *   reconnect in the same instant.
 * - HTTP/1.1: the next response whose head is written after the age says `Connection: close`
 *   (Node then closes the connection once it is written). A response whose head is already out
 *   finishes as it is; the one after it closes. An idle connection is left alone (closing it could
 *   race a request the client is sending); its next request gets the close.
 * - HTTP/2: GOAWAY (the session's `close()`), naming the last stream processed: streams under way
 *   finish, and the session closes when the last one ends. A stream the client opened while the
 *   GOAWAY was on its way is refused (REFUSED_STREAM, or above the GOAWAY's last stream id): it was
 *   not processed, and RFC 9113 section 8.7 lets any client retry it, as gRPC and Go's HTTP/2 do by
 *   themselves. RFC 9113 section 6.8 suggests a first GOAWAY naming stream 2^31-1, then a PING
 *   round trip, to close that window (grpc-js sends one too), but nghttp2 under Node takes no new
 *   stream after any GOAWAY it has sent but its own shutdown notice, which Node does not expose:
 *   tried here, the streams that raced the first GOAWAY were still refused by the second.
 * - After `graceMs` more, whatever is left of the connection is closed (gRPC's
 *   MAX_CONNECTION_AGE_GRACE): a response still streaming, a quiet HTTP/2 stream, an idle
 *   keep-alive connection. 0: no bound, streams run to their end. An HTTP/1.1 connection upgraded
 *   to a WebSocket is a tunnel, not HTTP any more, and is not aged.
 *
 * Cost: two timers per connection (both unref'd, cleared when it closes) and one object; nothing
 * per request but one property read and, after the age, one write.
 */
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Rng } from '../balancer/rng.js';

/** gRPC's jitter: each connection's age is the configured one ± this fraction. */
export const AGE_JITTER = 0.1;
const kAge = Symbol('shardgate.connectionAge');

export interface ConnectionAgeOptions {
  /** Connections end after this (± 10 %); must be above 0. */
  readonly ageMs: number;
  /** After the age, this long for what is under way to finish; then the connection is closed. 0: no bound. */
  readonly graceMs: number;
  /** Draws each connection's jitter. */
  readonly rng: Rng;
  readonly log: Logger;
}

/** One connection's timers, and for HTTP/1.1 its latest response. */
interface AgeState {
  aged: boolean;
  ageTimer: NodeJS.Timeout | null;
  graceTimer: NodeJS.Timeout | null;
  /** HTTP/1.1: the response of the connection's latest request, for the age to reach it if its head is not out yet. */
  res: ServerResponse | null;
}

interface AgedConnection {
  [kAge]?: AgeState;
}

/**
 * This connection's age: `ageMs` ± 10 %, uniformly, from `rng` (a whole number of milliseconds,
 * at least 1).
 */
export function jitteredAgeMs(ageMs: number, rng: Rng): number {
  // 2^20 steps across the ±10 % band.
  const unit = rng.below(1_048_576) / 1_048_575;
  return Math.max(1, Math.round(ageMs * (1 - AGE_JITTER + 2 * AGE_JITTER * unit)));
}

export class ConnectionAge {
  readonly #options: ConnectionAgeOptions;
  /** Connections that reached their age, since the start. */
  aged = 0;
  /** Connections still open when their grace period ended, closed then. */
  cut = 0;

  constructor(options: ConnectionAgeOptions) {
    if (!Number.isInteger(options.ageMs) || options.ageMs <= 0) throw new RangeError(`ConnectionAge: ageMs is ${options.ageMs}: use whole milliseconds above 0`);
    this.#options = options;
  }

  /**
   * Follows every connection of these servers: HTTP/1.1 connections and their requests, HTTP/2
   * sessions. Listeners are put first, so that a response is marked before the proxy's own
   * request handler can write its head.
   */
  attach(h1: http.Server, h2: Http2Server): void {
    h1.on('connection', (socket: Socket) => this.#track(socket, (state) => this.#ageSocket(socket, state)));
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => this.#onRequest(req, res);
    h1.prependListener('request', onRequest);
    h1.prependListener('checkContinue', onRequest);
    h1.prependListener('upgrade', (_req: IncomingMessage, socket: Duplex) => this.#release(socket as Socket));
    h2.on('session', (session: ServerHttp2Session) => this.#track(session, (state) => this.#ageSession(session, state)));
  }

  /** A new connection (an HTTP/1.1 socket or an HTTP/2 session): `age` runs at its age. */
  #track(connection: (Socket | ServerHttp2Session) & AgedConnection, age: (state: AgeState) => void): void {
    const state: AgeState = { aged: false, ageTimer: null, graceTimer: null, res: null };
    connection[kAge] = state;
    state.ageTimer = unrefTimer(() => age(state), jitteredAgeMs(this.#options.ageMs, this.#options.rng));
    connection.once('close', () => clearTimers(state));
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const state = (req.socket as AgedConnection)[kAge];
    if (state === undefined) return;
    if (state.aged) res.shouldKeepAlive = false;
    else state.res = res;
  }

  #ageSocket(socket: Socket, state: AgeState): void {
    state.ageTimer = null;
    state.aged = true;
    this.aged++;
    const res = state.res;
    state.res = null;
    // Its head not written yet: this response is the one that says Connection: close.
    if (res !== null && !res.headersSent && !res.writableEnded) res.shouldKeepAlive = false;
    this.#options.log.debug({ remote: socket.remoteAddress, port: socket.remotePort }, 'client connection reached its maximum age: Connection: close on its next response');
    this.#startGrace(state, () => {
      if (socket.destroyed) return;
      this.cut++;
      socket.destroy();
    });
  }

  /** An upgraded connection is a tunnel from now on: no age. */
  #release(socket: Socket): void {
    const state = (socket as AgedConnection)[kAge];
    if (state === undefined) return;
    clearTimers(state);
    state.res = null;
  }

  #ageSession(session: ServerHttp2Session, state: AgeState): void {
    state.ageTimer = null;
    if (session.closed || session.destroyed) return;
    state.aged = true;
    this.aged++;
    this.#options.log.debug({ remote: session.socket?.remoteAddress }, 'client HTTP/2 session reached its maximum age: GOAWAY');
    session.close();
    this.#startGrace(state, () => {
      if (session.destroyed) return;
      this.cut++;
      session.destroy();
    });
  }

  #startGrace(state: AgeState, end: () => void): void {
    const graceMs = this.#options.graceMs;
    if (graceMs > 0) state.graceTimer = unrefTimer(end, graceMs);
  }
}

function unrefTimer(fn: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

function clearTimers(state: AgeState): void {
  if (state.ageTimer !== null) clearTimeout(state.ageTimer);
  if (state.graceTimer !== null) clearTimeout(state.graceTimer);
  state.ageTimer = null;
  state.graceTimer = null;
}
