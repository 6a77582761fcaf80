/**
 * One connection to an HTTP/1.1 pod, over `net` or `tls`, carrying one request at a time (no
 * pipelining): it writes nothing itself (the request does, h1-call.ts), it reads the response:
 * heads with src/http1/response-head.ts, chunked bodies with src/http1/chunked.ts, and hands the
 * request the pieces as undici's HTTP/1.1 client did (client-h1.js), with its error classes, so
 * that upstream-failure.ts classifies every failure as before:
 *
 * - interim 1xx heads are skipped (each restarts the head timeout), 100 Continue too (RFC 9110
 *   section 15.2: a client must take 1xx it did not expect; undici failed the request on it); a
 *   101 is `SocketError('bad upgrade')`: this path never asks for an upgrade;
 * - a chunked response that also has Content-Length is refused (an HTTPParserError), as llhttp
 *   refused it: RFC 9112 section 6.3 lets the coding win, but the field would reach the client;
 * - the head goes to the request as an object with lower-case names, repeated fields as arrays,
 *   values as latin1 strings (undici's `parseHeaders`); then the body, de-chunked, span by span,
 *   each a view of the bytes read (no copy); then the trailers;
 * - a head or trailer section over the limits is `HeadersOverflowError`, anything else malformed
 *   `HTTPParserError`; a body cut short is `ResponseContentLengthMismatchError` (or a parser error,
 *   chunked) when the pod announced it would close, else `SocketError('other side closed')`, as is
 *   a FIN before the response; socket errors (ECONNRESET, EPIPE) pass through as they are;
 * - timeouts: connect (`ConnectTimeoutError`), head (`HeadersTimeoutError`: from the request sent
 *   to the final head; while the request body is still being taken up by the pod it waits), body
 *   (`BodyTimeoutError`: silence between body bytes, not while the request is paused), idle;
 * - reuse: after a response that keeps the connection alive, was read to its end with nothing
 *   after it, and whose request was written whole. The idle time is the pod's `Keep-Alive:
 *   timeout=N` less 2 s when that is shorter (undici's rule: close before the pod does, so that a
 *   request never meets the pod's close), else the configured one. The pool hands the connection
 *   out again from the next check phase of the loop (h1-upstream.ts). An idle connection that gets
 *   a FIN, an RST or any byte is closed at once: stray bytes would be read as the next response.
 *
 * Reading: the socket's 'data' events; each chunk is a fresh Buffer, so the views handed to the
 * request stay valid after the call returns. A reusable read buffer (`net.connect`'s `onread`)
 * would save that allocation per read, but then a view handed to the client must not outlive the
 * next read: the request would have to copy what its client write did not take at once, or the
 * connection stop reading until the client's write completed. Not done: the views are written to
 * the client's socket, which may queue them.
 *
 * Back-pressure: `pause()` from the request stops the socket; what the current chunk still holds
 * is kept and read on `resume()`. (Within one chunk, the spans of a chunked body are all handed
 * over before the pause takes hold: at most one read, 64 KiB.)
 *
 * Per connection: three deadline timers, a chunked decoder, closures for the socket's events; a
 * buffer for a head that arrives in pieces only while it does. Per response: the headers object.
 */
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { errors } from 'undici';
import { errorCode } from '../errors.js';
import type { ChunkSink, ChunkedLimits } from '../http1/chunked.js';
import { ChunkedDecoder } from '../http1/chunked.js';
import type { Http1Error } from '../http1/errors.js';
import type { HeadLimits } from '../http1/head-parse.js';
import type { ResponseHead } from '../http1/response-head.js';
import { parseResponseHead } from '../http1/response-head.js';
import { DeadlineTimer } from './deadline-timer.js';

/** The request a connection carries (h1-call.ts). */
export interface ConnectionRequest {
  readonly method: string;
  readonly paused: boolean;
  /** The request body is still being written: a response that ends first closes the connection. */
  readonly writing: boolean;
  readonly finished: boolean;
  /** The connection is ready: start the request and write it. False: it did not start (nothing was written). */
  send(conn: H1Connection): boolean;
  responseStart(status: number, headers: IncomingHttpHeaders, reason: string): void;
  data(chunk: Buffer): void;
  complete(trailers: IncomingHttpHeaders): void;
  /** The request failed; the connection is closed already. */
  fail(err: Error): void;
  /** The socket took what was queued: write more of the body. */
  drained(): void;
}

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  /** TLS options for an `https://` pod; null: plain TCP. */
  readonly tls: ConnectionOptions | null;
  readonly connectMs: number;
  /** From the request sent to the final response head; 0: none. */
  readonly headersMs: number;
  /** Longest silence between response body bytes; 0: none. */
  readonly bodyMs: number;
  /** Idle time of a kept connection, at most (a pod's Keep-Alive hint may shorten it). */
  readonly idleMs: number;
  readonly headLimits: HeadLimits;
  readonly trailerLimits: ChunkedLimits;
}

/** What a connection tells its pool (h1-upstream.ts). */
export interface ConnectionPool {
  readonly settings: ConnectionSettings;
  /** The connection may carry another request: it is idle now. */
  released(conn: H1Connection): void;
  /**
   * The connection finished a response and may carry another, but not before the pod's FIN or
   * stray bytes, if it sent any with or right after the response, have had a poll phase to arrive.
   */
  settling(conn: H1Connection): void;
  /** The connection is closed (or closing): forget it. Called once. */
  gone(conn: H1Connection): void;
  /** A TLS session to resume for `servername`, if one was kept. */
  session(servername: string): Buffer | undefined;
  keepSession(servername: string, session: Buffer): void;
}

const enum Phase {
  Connecting,
  Idle,
  /** Waiting for the (final) response head. */
  Head,
  Length,
  Chunked,
  UntilClose,
}

/** The pod's idle time hint is undershot by this much (undici's keepAliveTimeoutThreshold). */
const KEEP_ALIVE_MARGIN_MS = 2_000;
const KEEP_ALIVE_TIMEOUT = /timeout=(\d+)/;
/** Slack over maxHeaderBytes for the buffer that collects a head arriving in pieces. */
const HEAD_BUFFER_SLACK = 64;
const NO_TRAILERS: IncomingHttpHeaders = Object.freeze({});

export class H1Connection implements ChunkSink {
  /** The TLS server name it was opened with ('' for plain TCP): a request needing another one opens its own. */
  readonly servername: string;
  /** Links of the pool's idle list, and whether the connection is on it. */
  prev: H1Connection | null = null;
  next: H1Connection | null = null;
  idle = false;
  readonly socket: Socket;
  readonly #pool: ConnectionPool;
  readonly #settings: ConnectionSettings;
  #request: ConnectionRequest | null;
  #phase = Phase.Connecting;
  #closed = false;
  /** The current response lets the connection carry another request. */
  #keepAlive = true;
  /** Close after this exchange whatever the response says (HEAD, a body on a bodiless method, a short Keep-Alive hint). */
  #closeAfter = false;
  #idleMs: number;
  /** Body bytes still to come (Phase.Length). */
  #remaining = 0;
  #decoder: ChunkedDecoder | null = null;
  /** A head arriving in pieces, collected; null while heads come whole. */
  #headBuf: Buffer | null = null;
  #headLen = 0;
  /** The rest of a chunk read while the request was paused, and where it starts. */
  #held: Buffer | null = null;
  #heldAt = 0;
  /** A FIN came while a chunk was held: handled once it has been read. */
  #endHeld = false;
  /** Inside #consume: a resume() there only lets the loop go on. */
  #consuming = false;
  #referenced = true;
  /** The last head's Keep-Alive value, and whether it had a Content-Length field. */
  #keepAliveField: string | null = null;
  #lengthField = false;
  #connectTimer: NodeJS.Timeout | null;
  readonly #headersTimer = new DeadlineTimer(() => this.#headersExpired());
  readonly #bodyTimer = new DeadlineTimer(() => this.#bodyExpired());
  readonly #idleTimer = new DeadlineTimer(() => this.#idleExpired());

  /** Opens a connection for `request`, which is sent once it is up. */
  constructor(pool: ConnectionPool, servername: string, request: ConnectionRequest) {
    this.#pool = pool;
    const s = pool.settings;
    this.#settings = s;
    this.servername = servername;
    this.#request = request;
    this.#idleMs = s.idleMs;
    let socket: Socket;
    if (s.tls === null) {
      // undici's read buffer sizes (highWaterMark is a stream option, absent from the connect types).
      const options = { host: s.host, port: s.port, highWaterMark: 64 * 1024 };
      socket = net.connect(options);
      socket.once('connect', () => this.#connected());
    } else {
      const session = pool.session(servername);
      const options = {
        highWaterMark: 16_384,
        ...s.tls,
        ...(servername === '' ? {} : { servername }),
        ...(session === undefined ? {} : { session }),
        ALPNProtocols: ['http/1.1'],
        host: s.host,
        port: s.port,
      };
      socket = tls.connect(options);
      socket.once('secureConnect', () => this.#connected());
      socket.on('session', (session: Buffer) => pool.keepSession(servername, session));
    }
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err: Error) => this.#onError(err));
    socket.on('close', () => this.#onClose());
    socket.on('drain', () => this.#request?.drained());
    this.#connectTimer = s.connectMs > 0 ? setTimeout(() => this.#connectExpired(), s.connectMs) : null;
  }

  /** An idle connection takes `request`. */
  assign(request: ConnectionRequest): void {
    this.#request = request;
    this.#phase = Phase.Head;
    this.#keepAlive = true;
    this.#closeAfter = false;
    this.#idleTimer.clear();
    if (!this.#referenced) {
      this.socket.ref();
      this.#referenced = true;
    }
    this.#headersTimer.set(this.#settings.headersMs);
    if (!request.send(this)) {
      // Refused before anything was written: the connection is as clean as it was.
      if (this.#request === request) this.#toIdle(false);
    }
  }

  /** Not reusable after the current exchange. */
  closeAfterResponse(): void {
    this.#closeAfter = true;
  }

  /** The request wrote more (or all) of its body: the head timeout counts from now. */
  refreshHeadersTimeout(): void {
    if (this.#phase === Phase.Head && this.#request !== null) this.#headersTimer.set(this.#settings.headersMs);
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    const request = this.#request;
    if (request === null || this.#closed) return;
    if (this.#phase >= Phase.Length) this.#bodyTimer.set(this.#settings.bodyMs);
    if (!this.#consuming) {
      const held = this.#held;
      if (held !== null) {
        this.#held = null;
        this.#consume(held, this.#heldAt);
        if (this.#held !== null || this.#closed) return;
      }
      if (this.#endHeld) {
        this.#endHeld = false;
        this.#onEnd();
        return;
      }
    }
    this.socket.resume();
  }

  /** The request was aborted: the connection goes with it. */
  abandon(request: ConnectionRequest): void {
    if (this.#request !== request) return;
    this.#request = null;
    this.#destroy();
  }

  /** Closes the connection; its request, if any, fails with `err`. */
  abortWith(err: Error): void {
    this.#fail(err);
  }

  /** Closes an idle connection. */
  close(): void {
    this.#destroy();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** ChunkSink: a span of de-chunked body. */
  data(buf: Buffer, start: number, end: number): void {
    // The request may have been aborted by an earlier span of the same read.
    this.#request?.data(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
  }

  #connected(): void {
    if (this.#connectTimer !== null) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
    }
    if (this.#closed) return;
    const request = this.#request;
    this.#request = null;
    if (request === null || request.finished) this.#toIdle(false);
    else this.assign(request);
  }

  /** Idle: for the pool to hand out at once, or (`settle`) after the next poll phase. */
  #toIdle(settle: boolean): void {
    this.#request = null;
    if (this.#closed) return;
    this.#phase = Phase.Idle;
    this.#headersTimer.clear();
    this.#bodyTimer.clear();
    this.#idleTimer.set(this.#idleMs);
    const socket = this.socket;
    // An idle connection must see a FIN or stray bytes at once, even if its last response was paused.
    if (socket.isPaused()) socket.resume();
    if (this.#referenced) {
      socket.unref();
      this.#referenced = false;
    }
    if (settle) this.#pool.settling(this);
    else this.#pool.released(this);
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    // Bytes on an idle connection: a late or extra response, never ours to read.
    if (this.#request === null) this.#destroy();
    else this.#consume(chunk, 0);
  }

  #consume(buf: Buffer, at: number): void {
    this.#consuming = true;
    try {
      const end = buf.length;
      while (at < end) {
        const request = this.#request;
        if (request === null) return;
        if (request.paused) {
          this.#held = buf;
          this.#heldAt = at;
          return;
        }
        switch (this.#phase) {
          case Phase.Head:
            at = this.#readHead(request, buf, at);
            break;
          case Phase.Length:
            at = this.#readLength(request, buf, at);
            break;
          case Phase.Chunked:
            at = this.#readChunked(request, buf, at);
            break;
          case Phase.UntilClose:
            this.#bodyTimer.set(this.#settings.bodyMs);
            request.data(at === 0 ? buf : buf.subarray(at));
            at = end;
            break;
          default:
            at = end;
        }
        if (at < 0) return;
      }
    } finally {
      this.#consuming = false;
    }
  }

  /** Reads a head from buf[at...]; the offset after it, or -1 when this read is used up or the connection failed. */
  #readHead(request: ConnectionRequest, buf: Buffer, at: number): number {
    const limits = this.#settings.headLimits;
    let src = buf;
    let start = at;
    let end = buf.length;
    let prior = 0;
    const collected = this.#headBuf;
    if (collected !== null) {
      prior = this.#headLen;
      const n = Math.min(end - at, collected.length - prior);
      buf.copy(collected, prior, at, at + n);
      src = collected;
      start = 0;
      end = prior + n;
    }
    const r = parseResponseHead(src, start, end, limits, request.method);
    if (r.kind === 'partial') {
      if (collected === null) {
        const into = Buffer.allocUnsafe(limits.maxHeaderBytes + HEAD_BUFFER_SLACK);
        this.#headLen = buf.copy(into, 0, at, end);
        this.#headBuf = into;
      } else if (end === collected.length) {
        // Full, and still no end of the head: the parser's own limit should have said so first.
        this.#fail(new errors.HeadersOverflowError());
      } else {
        this.#headLen = end;
      }
      return -1;
    }
    this.#headBuf = null;
    this.#headLen = 0;
    if (r.kind === 'invalid') {
      this.#fail(parseError(r.error));
      return -1;
    }
    return this.#onHead(request, r.head, buf, at + r.length - prior);
  }

  #onHead(request: ConnectionRequest, head: ResponseHead, buf: Buffer, next: number): number {
    const s = this.#settings;
    const status = head.status;
    if (status < 200) {
      if (status === 101) {
        this.#fail(socketError('bad upgrade', this.socket));
        return -1;
      }
      this.#headersTimer.set(s.headersMs);
      return next;
    }
    this.#headersTimer.clear();
    const headers = this.#headersOf(head.headers);
    if (head.body === 'chunked' && this.#lengthField) {
      // RFC 9112 section 6.3 lets the coding win; llhttp refuses the pair, and so did undici. A
      // Content-Length that does not frame the body must not reach the client either.
      this.#fail(parserError('the response has both Transfer-Encoding and Content-Length', 'UNEXPECTED_CONTENT_LENGTH'));
      return -1;
    }
    this.#keepAlive = head.keepAlive;
    if (head.keepAlive) this.#keepAliveHint();
    switch (head.body) {
      case 'length':
        this.#remaining = head.contentLength;
        this.#phase = head.contentLength === 0 ? Phase.Idle : Phase.Length;
        break;
      case 'chunked':
        if (this.#decoder === null) this.#decoder = new ChunkedDecoder(s.trailerLimits);
        else this.#decoder.reset();
        this.#phase = Phase.Chunked;
        break;
      case 'close':
        this.#phase = Phase.UntilClose;
        break;
      default:
        this.#phase = Phase.Idle;
    }
    if (this.#phase !== Phase.Idle) this.#bodyTimer.set(s.bodyMs);
    request.responseStart(status, headers, head.reason);
    if (this.#request !== request) return -1;
    if (this.#phase === Phase.Idle) {
      this.#complete(request, NO_TRAILERS, next < buf.length);
      return -1;
    }
    return next;
  }

  #readLength(request: ConnectionRequest, buf: Buffer, at: number): number {
    const end = buf.length;
    const n = Math.min(this.#remaining, end - at);
    this.#remaining -= n;
    const chunk = at === 0 && n === end ? buf : buf.subarray(at, at + n);
    at += n;
    this.#bodyTimer.set(this.#settings.bodyMs);
    request.data(chunk);
    if (this.#request !== request) return -1;
    if (this.#remaining === 0) {
      this.#complete(request, NO_TRAILERS, at < end);
      return -1;
    }
    return at;
  }

  #readChunked(request: ConnectionRequest, buf: Buffer, at: number): number {
    const decoder = this.#decoder!;
    this.#bodyTimer.set(this.#settings.bodyMs);
    const used = decoder.push(buf, at, buf.length, this);
    if (this.#request !== request) return -1;
    if (used < 0) {
      this.#fail(parseError(decoder.error!));
      return -1;
    }
    at += used;
    if (decoder.done) {
      this.#complete(request, decoder.trailers.length === 0 ? NO_TRAILERS : this.#headersOf(decoder.trailers), at < buf.length);
      return -1;
    }
    return at;
  }

  /**
   * The response is whole. The connection is kept if the response allows it, nothing came after
   * it, and the request was written whole; then the request hears of the end (a request that
   * starts from inside that call finds the connection idle already).
   */
  #complete(request: ConnectionRequest, trailers: IncomingHttpHeaders, stray: boolean): void {
    this.#request = null;
    if (this.#keepAlive && !this.#closeAfter && !stray && !request.writing && !this.#closed) this.#toIdle(true);
    else this.#destroy();
    request.complete(trailers);
  }

  /** The pod closed its side while the response was being read to the close, or with it announced. */
  #eof(request: ConnectionRequest): void {
    switch (this.#phase) {
      case Phase.UntilClose:
        this.#complete(request, NO_TRAILERS, false);
        return;
      case Phase.Length:
        this.#fail(new errors.ResponseContentLengthMismatchError());
        return;
      default:
        this.#fail(parserError('the connection closed inside the chunked body', 'INVALID_EOF_STATE'));
    }
  }

  /** undici's keep-alive rule: the pod's `Keep-Alive: timeout=N` less 2 s, if shorter than ours. */
  #keepAliveHint(): void {
    const field = this.#keepAliveField;
    const configured = this.#settings.idleMs;
    const m = field === null ? null : KEEP_ALIVE_TIMEOUT.exec(field);
    if (m === null) {
      this.#idleMs = configured;
      return;
    }
    const ms = Math.min(parseInt(m[1]!, 10) * 1000 - KEEP_ALIVE_MARGIN_MS, configured);
    if (ms <= 0) this.#closeAfter = true;
    else this.#idleMs = ms;
  }

  /** undici's parseHeaders: lower-case names, repeated fields as arrays. Notes Keep-Alive and Content-Length. */
  #headersOf(list: readonly string[]): IncomingHttpHeaders {
    const out: Record<string, string | string[]> = {};
    let keepAlive: string | null = null;
    let length = false;
    for (let i = 0; i + 1 < list.length; i += 2) {
      const key = list[i]!.toLowerCase();
      const value = list[i + 1]!;
      if (key.length === 10 && key === 'keep-alive') keepAlive = keepAlive === null ? value : keepAlive + value;
      else if (key.length === 14 && key === 'content-length') length = true;
      const prev = out[key];
      if (prev === undefined) {
        if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
        else out[key] = value;
      } else if (!Object.hasOwn(out, key)) {
        // A name Object.prototype has (constructor, toString...): the first own value.
        out[key] = value;
      } else if (typeof prev === 'string') {
        out[key] = [prev, value];
      } else {
        prev.push(value);
      }
    }
    this.#keepAliveField = keepAlive;
    this.#lengthField = length;
    return out;
  }

  #headersExpired(): void {
    const request = this.#request;
    if (request === null || this.#phase !== Phase.Head) return;
    // undici's rule: while the body is still going out and the pod takes it, the wait has not begun.
    if (request.writing && !this.socket.writableNeedDrain) return;
    this.#fail(new errors.HeadersTimeoutError());
  }

  #bodyExpired(): void {
    const request = this.#request;
    if (request === null || this.#phase < Phase.Length) return;
    // A paused request is not reading: resume() sets the timeout again.
    if (request.paused) return;
    this.#fail(new errors.BodyTimeoutError());
  }

  #idleExpired(): void {
    if (this.#request === null && this.#phase === Phase.Idle) this.#destroy();
  }

  #connectExpired(): void {
    this.#connectTimer = null;
    if (this.#phase !== Phase.Connecting || this.#closed) return;
    const s = this.#settings;
    this.#fail(new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${s.host}:${s.port}, timeout: ${s.connectMs}ms)`));
  }

  #onEnd(): void {
    if (this.#closed) return;
    if (this.#held !== null) {
      this.#endHeld = true;
      return;
    }
    const request = this.#request;
    if (request === null) this.#destroy();
    else if (this.#phase >= Phase.Length && !this.#keepAlive) this.#eof(request);
    else this.#fail(socketError('other side closed', this.socket));
  }

  #onError(err: Error): void {
    if (this.#closed) return;
    const request = this.#request;
    // undici: an RST after a response that said it would close ends that response, as a FIN would.
    if (request !== null && this.#phase >= Phase.Length && !this.#keepAlive && this.#held === null && errorCode(err) === 'ECONNRESET') {
      this.#eof(request);
      return;
    }
    this.#fail(err);
  }

  #onClose(): void {
    if (!this.#closed) this.#fail(socketError('closed', this.socket));
  }

  /** The connection fails: closed, and its request, if any, fails with `err`. */
  #fail(err: Error): void {
    const request = this.#request;
    this.#request = null;
    this.#destroy();
    request?.fail(err);
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = null;
    this.#headBuf = null;
    if (this.#connectTimer !== null) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
    }
    this.#headersTimer.dispose();
    this.#bodyTimer.dispose();
    this.#idleTimer.dispose();
    this.socket.destroy();
    this.#pool.gone(this);
  }
}

/** A parse failure as undici reports one: too large is HeadersOverflowError, the rest HTTPParserError. */
function parseError(e: Http1Error): Error {
  if (e.code === 'head-too-large' || e.code === 'too-many-fields' || e.code === 'trailer-too-large') return new errors.HeadersOverflowError();
  return parserError(e.reason, e.code.toUpperCase().replaceAll('-', '_'));
}

function parserError(message: string, code: string): Error {
  const err = new errors.HTTPParserError(message);
  err.code = `HPE_${code}`;
  return err;
}

/** undici's SocketError, with the socket's addresses and counts as undici records them. */
function socketError(message: string, socket: Socket): Error {
  const err = new errors.SocketError(message);
  err.socket = {
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    remoteFamily: socket.remoteFamily,
    timeout: socket.timeout,
    bytesWritten: socket.bytesWritten,
    bytesRead: socket.bytesRead,
  };
  return err;
}
