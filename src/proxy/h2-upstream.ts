/**
 * The HTTP/2 side of an endpoint (`h2c://` and `h2://` addresses): a small pool of HTTP/2
 * sessions to one pod, every request a stream on the least busy one. undici 7 speaks HTTP/2 only
 * over TLS and hides GOAWAY and REFUSED_STREAM, which retries must see, so this is written on
 * node:http2 and offers undici's `dispatch(options, handler)` shape: the Exchange drives either
 * kind of upstream the same way.
 *
 * Sessions: at most `maxSessions`; a new one is opened only when every open one has as many
 * active streams as the pod allows (its SETTINGS_MAX_CONCURRENT_STREAMS). A session that got
 * GOAWAY, or that failed, takes no new streams; it closes once its streams end. Streams the pod
 * never processed (REFUSED_STREAM, which is also how streams above a GOAWAY's last stream id end)
 * fail with `RefusedStreamError`, which the proxy may retry on any endpoint for any method.
 *
 * Phases, as undici reports them: `onRequestStart` runs once the stream is opened on a connected
 * session, so an error before it is a connect failure. A response HEADERS frame that ends the
 * stream and carries `grpc-status` (a gRPC "trailers-only" response) is passed on as headers
 * followed by trailers, so that a proxy writing it to a client as two frames still gives the
 * client its status in trailers, where gRPC clients read it.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders as H2Headers, OutgoingHttpHeaders } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';

export interface H2UpstreamOptions {
  readonly connectMs: number;
  /** From the request sent to the response head; 0 disables. */
  readonly headersMs: number;
  /** Longest silence between response DATA frames; 0 disables. */
  readonly bodyMs: number;
  readonly maxSessions: number;
  readonly maxHeaderBytes: number;
  /** TLS settings for `h2://` (ca, servername, rejectUnauthorized). */
  readonly tls?: ConnectionOptions;
}

export interface H2DispatchOptions {
  readonly path: string;
  readonly method: string;
  /** Flat [name, value, ...] list, HTTP/1.1 style; `host` becomes `:authority`. */
  readonly headers: string[];
  readonly body: Readable | Buffer | null;
}

/** The pod refused the stream before processing it (RST_STREAM REFUSED_STREAM, or above GOAWAY). */
export class RefusedStreamError extends Error {
  readonly code = 'SG_H2_REFUSED_STREAM';
  constructor() {
    super('the endpoint refused the HTTP/2 stream without processing it');
  }
}

/** The stream was reset by the pod, or its session failed, after the request started. */
export class StreamResetError extends Error {
  readonly code = 'SG_H2_STREAM_RESET';
  readonly rstCode: number;
  constructor(rstCode: number, cause?: unknown) {
    super(`the endpoint reset the HTTP/2 stream (code ${rstCode})`, cause === undefined ? undefined : { cause });
    this.rstCode = rstCode;
  }
}

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

// The fields HTTP/2 forbids (RFC 9113 section 8.2.2): the HTTP/1.1 header list has them removed
// already, except these, which a client on HTTP/1.1 may still send.
const DROPPED: ReadonlySet<string> = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);
const GRPC_TRAILER_FIELDS: ReadonlySet<string> = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin']);

interface Session {
  readonly h2: ClientHttp2Session;
  active: number;
  connected: boolean;
  /** GOAWAY received, failed or closing: no new streams. */
  retired: boolean;
  /** Why the session failed, for the calls still waiting for it to connect. */
  error: Error | null;
}

export class H2Upstream {
  readonly origin: string;
  readonly #options: H2UpstreamOptions;
  readonly #log: Logger;
  readonly #sessions: Session[] = [];
  #closing = false;
  #closed: Promise<void> | null = null;
  #onEmpty: (() => void) | null = null;

  constructor(origin: string, options: H2UpstreamOptions, log: Logger) {
    this.origin = origin;
    this.#options = options;
    this.#log = log;
  }

  /** Starts a request; the handler is called as undici calls a DispatchHandler. Returns true. */
  dispatch(options: H2DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#closing) {
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, new errors.ClientClosedError());
      return true;
    }
    const session = this.#choose();
    const call = new H2Call(this, this.#options, session, options, handler);
    session.active++;
    if (session.connected) call.start();
    else session.h2.once('connect', () => call.start());
    return true;
  }

  /** Graceful: no new streams; resolves when every session has closed after its streams. */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= new Promise<void>((resolve) => {
      this.#onEmpty = resolve;
      for (const s of [...this.#sessions]) {
        s.retired = true;
        if (s.active === 0) this.#release(s);
      }
      if (this.#sessions.length === 0) resolve();
    });
    return this.#closed;
  }

  /** At once: every stream fails (as cancelled or reset), every session is destroyed. */
  destroy(): Promise<void> {
    this.#closing = true;
    const done = this.close();
    for (const s of this.#sessions) s.h2.destroy();
    return done;
  }

  /** A stream ended; called once per dispatched call. */
  streamEnded(session: Session): void {
    session.active--;
    if (session.retired && session.active === 0) this.#release(session);
  }

  /**
   * A retired session without streams: closed and forgotten at once. (Node does not always emit
   * 'close' for a session that got GOAWAY, so its own event is not waited for.)
   */
  #release(session: Session): void {
    if (session.h2.closed) session.h2.destroy();
    else session.h2.close();
    this.#forget(session);
  }

  #forget(session: Session): void {
    const i = this.#sessions.indexOf(session);
    if (i < 0) return;
    this.#sessions.splice(i, 1);
    if (this.#sessions.length === 0 && this.#onEmpty !== null) this.#onEmpty();
  }

  /** The least busy live session, unless all are full and another may be opened. */
  #choose(): Session {
    let best: Session | null = null;
    let live = 0;
    for (const s of this.#sessions) {
      if (s.retired) continue;
      live++;
      if (best === null || s.active < best.active) best = s;
    }
    // Past the pod's stream limit nghttp2 holds the stream back until one ends.
    if (best !== null && (best.active < maxStreams(best) || live >= this.#options.maxSessions)) return best;
    return this.#connect();
  }

  #connect(): Session {
    const o = this.#options;
    const h2 = http2.connect(this.origin, {
      ...(o.tls ?? {}),
      ALPNProtocols: ['h2'],
      maxHeaderListPairs: 1_000,
      settings: { enablePush: false, maxHeaderListSize: o.maxHeaderBytes },
      // Enough for a burst of streams opened before the pod's SETTINGS arrive.
      peerMaxConcurrentStreams: 100,
    });
    const session: Session = { h2, active: 0, connected: false, retired: false, error: null };
    this.#sessions.push(session);
    const timer = setTimeout(() => {
      if (!session.connected) h2.destroy(new errors.ConnectTimeoutError());
    }, o.connectMs);
    h2.once('connect', () => {
      clearTimeout(timer);
      session.connected = true;
    });
    h2.on('goaway', (code: number, lastStreamId: number) => {
      session.retired = true;
      this.#log.debug({ origin: this.origin, code, lastStreamId }, 'endpoint sent GOAWAY: no new streams on this session');
    });
    h2.on('error', (err: Error) => {
      session.retired = true;
      session.error ??= err;
      this.#log.debug({ origin: this.origin, err: err.message }, 'HTTP/2 session to endpoint failed');
    });
    h2.once('close', () => {
      clearTimeout(timer);
      session.retired = true;
      this.#forget(session);
    });
    return session;
  }
}

function maxStreams(s: Session): number {
  return s.connected ? (s.h2.remoteSettings.maxConcurrentStreams ?? 100) : 100;
}

/** One request on one session: its controller too. */
class H2Call implements Dispatcher.DispatchController {
  readonly #upstream: H2Upstream;
  readonly #limits: H2UpstreamOptions;
  readonly #session: Session;
  readonly #options: H2DispatchOptions;
  readonly #handler: Dispatcher.DispatchHandler;
  #stream: ClientHttp2Stream | null = null;
  #responded = false;
  #trailers: IncomingHttpHeaders | null = null;
  #finished = false;
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;

  constructor(upstream: H2Upstream, limits: H2UpstreamOptions, session: Session, options: H2DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.#upstream = upstream;
    this.#limits = limits;
    this.#session = session;
    this.#options = options;
    this.#handler = handler;
    // A session that fails before it connects fails its waiting calls: connect failure.
    if (!session.connected) session.h2.once('close', () => this.#sessionClosedBeforeStart());
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  start(): void {
    if (this.#finished) return;
    const o = this.#options;
    const h2 = this.#session.h2;
    if (h2.destroyed || h2.closed) {
      this.#fail(new RefusedStreamError());
      return;
    }
    const headers: OutgoingHttpHeaders = { ':method': o.method, ':path': o.path };
    const list = o.headers;
    for (let i = 0; i + 1 < list.length; i += 2) {
      const name = list[i]!.toLowerCase();
      const value = list[i + 1]!;
      if (name === 'host') {
        headers[':authority'] = value;
        continue;
      }
      if (DROPPED.has(name)) continue;
      const prev = headers[name];
      headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...(prev), value] : [String(prev), value];
    }
    const body = o.body;
    let stream: ClientHttp2Stream;
    try {
      stream = h2.request(headers, { endStream: body === null });
    } catch (err) {
      // A session closing under us (GOAWAY raced the choice): nothing reached the pod.
      this.#fail((err as { code?: unknown }).code === 'ERR_HTTP2_GOAWAY_SESSION' || (err as { code?: unknown }).code === 'ERR_HTTP2_INVALID_SESSION' ? new RefusedStreamError() : (err as Error));
      return;
    }
    this.#stream = stream;
    stream.on('response', (h: H2Headers, flags: number) => this.#onResponse(h, flags));
    stream.on('trailers', (t: H2Headers) => {
      this.#trailers = plainHeaders(t);
    });
    stream.on('data', (chunk: Buffer) => {
      if (!this.#finished) this.#handler.onResponseData?.(this, chunk);
    });
    stream.on('end', () => this.#onEnd());
    stream.on('error', () => {
      // Read from rstCode in 'close'.
    });
    stream.on('close', () => this.#onClose());
    const headersMs = this.#limits.headersMs;
    if (headersMs > 0) stream.setTimeout(headersMs, () => this.#timedOut());
    this.#handler.onRequestStart?.(this, null);
    if (this.#aborted) return;
    if (body !== null) {
      if (Buffer.isBuffer(body)) stream.end(body);
      else body.pipe(stream);
    }
  }

  pause(): void {
    this.#paused = true;
    this.#stream?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#stream?.resume();
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const stream = this.#stream;
    if (stream !== null && !stream.closed) stream.close(NGHTTP2_CANCEL);
    this.#fail(reason);
  }

  #onResponse(h: H2Headers, flags: number): void {
    if (this.#finished) return;
    const status = Number(h[':status']);
    if (status < 200) return;
    this.#responded = true;
    const stream = this.#stream!;
    // From here the body's silences are bounded instead of the wait for the head.
    const bodyMs = this.#limits.bodyMs;
    stream.setTimeout(bodyMs, bodyMs > 0 ? () => this.#timedOut() : noop);
    const headers = plainHeaders(h);
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0 && headers['grpc-status'] !== undefined) {
      const trailers: IncomingHttpHeaders = {};
      for (const name of GRPC_TRAILER_FIELDS) {
        const v = headers[name];
        if (v !== undefined) {
          trailers[name] = v;
          delete headers[name];
        }
      }
      this.#trailers = trailers;
    }
    this.#handler.onResponseStart?.(this, status, headers, '');
  }

  #onEnd(): void {
    if (this.#finished || !this.#responded) return;
    this.#finished = true;
    this.#upstream.streamEnded(this.#session);
    this.#handler.onResponseEnd?.(this, this.#trailers ?? {});
  }

  #onClose(): void {
    if (this.#finished) return;
    const stream = this.#stream!;
    if (this.#responded && stream.rstCode === NGHTTP2_NO_ERROR && stream.readableEnded) {
      this.#onEnd();
      return;
    }
    const code = stream.rstCode ?? NGHTTP2_NO_ERROR;
    this.#fail(code === NGHTTP2_REFUSED_STREAM && !this.#responded ? new RefusedStreamError() : new StreamResetError(code));
  }

  #sessionClosedBeforeStart(): void {
    if (this.#stream !== null || this.#finished) return;
    this.#fail(this.#session.error ?? new errors.SocketError('the HTTP/2 session to the endpoint closed before the request started'));
  }

  #timedOut(): void {
    if (this.#finished) return;
    const err = this.#responded ? new errors.BodyTimeoutError() : new errors.HeadersTimeoutError();
    this.#stream?.close(NGHTTP2_CANCEL);
    this.#fail(err);
  }

  #fail(err: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#upstream.streamEnded(this.#session);
    this.#handler.onResponseError?.(this, err);
  }
}

function noop(): void {}

function plainHeaders(h: H2Headers): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in h) {
    if (name.charCodeAt(0) === 58 /* : */) continue;
    out[name] = h[name];
  }
  return out;
}
