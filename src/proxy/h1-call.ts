/**
 * One request on the raw HTTP/1.1 upstream (h1-upstream.ts): its record from dispatch to the end,
 * the controller its handler gets (undici 7's DispatchController: abort, pause, resume), and the
 * writing of the request, framed as undici's `writeH1` frames it:
 *
 * - no body: the head, plus `content-length: 0` for methods that carry content (POST, PUT...);
 * - a Buffer: `content-length: <its length>`, head and body in one socket write (corked). A
 *   declared Content-Length that differs fails the request before it starts
 *   (RequestContentLengthMismatchError: undici's strictContentLength);
 * - a stream: with a declared Content-Length (or one that has already ended) sent as it comes and
 *   held to that length, else chunked. The head goes out with the first body bytes. When the
 *   socket's buffer is full the body stream is paused until 'drain'. A stream that errors, or
 *   closes before its end, fails the request (RequestAbortedError).
 *
 * A body on a method without content (a GET with a body) closes the connection after the
 * exchange; so does a response that ends before its request was written whole. Whatever ends the
 * request, the body stream is then destroyed, as undici destroys it (a client's IncomingMessage
 * is first detached from its socket, so that the client connection survives for the answer).
 *
 * Handler calls: onRequestStart once the request has a connection (before anything is written:
 * an error before it is a connect failure for upstream-failure.ts), then onResponseStart,
 * onResponseData..., and exactly one of onResponseEnd or onResponseError. An exception thrown by
 * the handler aborts the request with it, as undici does.
 */
import { IncomingMessage } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { ConnectionRequest, H1Connection } from './h1-connection.js';
import type { RequestHeadFields } from './h1-request-head.js';
import { checksDeclaredLength, expectsPayload } from './h1-request-head.js';

/** What a request tells the upstream that dispatched it. */
export interface CallOwner {
  /** The request ended (its handler heard the end or the error): called once. */
  ended(call: H1Call): void;
}

export class H1Call implements Dispatcher.DispatchController, ConnectionRequest, RequestHeadFields {
  head = '';
  host: string | null = null;
  declaredLength: number | null = null;
  closeAfter = false;
  /** The TLS server name its connection must have; '' for plain TCP. */
  servername = '';
  /** The body is still being written. */
  writing = false;
  /** The handler has heard the end or the error. */
  finished = false;
  readonly method: string;
  readonly #owner: CallOwner;
  readonly #handler: Dispatcher.DispatchHandler;
  /** A non-empty Buffer body, or null. */
  readonly #buffer: Buffer | null;
  readonly #stream: StreamBody | null;
  #conn: H1Connection | null = null;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;

  constructor(owner: CallOwner, handler: Dispatcher.DispatchHandler, method: string, body: Readable | Buffer | null) {
    this.#owner = owner;
    this.#handler = handler;
    this.method = method;
    if (body === null || Buffer.isBuffer(body)) {
      this.#buffer = body !== null && body.length > 0 ? body : null;
      this.#stream = null;
    } else {
      this.#buffer = null;
      this.#stream = new StreamBody(this, body);
    }
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

  /** The request is accepted for sending: from now on a body stream's error fails it. */
  accept(): void {
    this.#stream?.watch();
  }

  send(conn: H1Connection): boolean {
    const stream = this.#stream;
    const buffer = this.#buffer;
    const method = this.method;
    const bodyLength = stream === null ? (buffer === null ? 0 : buffer.length) : stream.endedLength();
    let length = bodyLength ?? this.declaredLength;
    const payload = expectsPayload(method);
    if (length === 0 && !payload) length = null;
    const declared = this.declaredLength;
    if (length !== null && length > 0 && declared !== null && declared !== length && checksDeclaredLength(method)) {
      this.#refuse(new errors.RequestContentLengthMismatchError());
      return false;
    }
    const early = stream?.error ?? null;
    if (early !== null) {
      // The body broke before the request started: undici fails it without starting it.
      this.#conn = conn;
      this.#fail(early, true);
      return true;
    }
    this.#conn = conn;
    try {
      this.#handler.onRequestStart?.(this, null);
    } catch (err) {
      this.#fail(asError(err), true);
      return true;
    }
    if (this.finished) return true;
    if (this.closeAfter) conn.closeAfterResponse();
    const socket = conn.socket;
    if (bodyLength === 0) {
      socket.write(length === 0 ? `${this.head}content-length: 0\r\n\r\n` : `${this.head}\r\n`, 'latin1');
    } else if (buffer !== null) {
      socket.cork();
      socket.write(`${this.head}content-length: ${buffer.length}\r\n\r\n`, 'latin1');
      socket.write(buffer);
      socket.uncork();
      if (!payload) conn.closeAfterResponse();
    } else {
      this.writing = true;
      stream!.start(conn, this.head, length, payload);
    }
    return true;
  }

  pause(): void {
    this.#paused = true;
    if (!this.finished) this.#conn?.pauseReading();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.finished) this.#conn?.resumeReading();
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#fail(reason, false);
  }

  responseStart(status: number, headers: IncomingHttpHeaders, reason: string): void {
    try {
      this.#handler.onResponseStart?.(this, status, headers, reason);
    } catch (err) {
      this.#fail(asError(err), true);
    }
  }

  data(chunk: Buffer): void {
    if (this.finished) return;
    try {
      this.#handler.onResponseData?.(this, chunk);
    } catch (err) {
      this.#fail(asError(err), true);
    }
  }

  complete(trailers: IncomingHttpHeaders): void {
    if (this.finished) return;
    this.#end();
    const writing = this.writing;
    this.writing = false;
    try {
      this.#handler.onResponseEnd?.(this, trailers);
    } catch (err) {
      this.#handler.onResponseError?.(this, asError(err));
    }
    // A response that ended before its request was written whole: the rest is not wanted.
    if (writing) this.#stream!.stop(null, true);
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.#end();
    this.#handler.onResponseError?.(this, err);
    // A body not being written yet is left as it is, for a retry (undici leaves it too).
    this.#stream?.stop(err, false);
  }

  drained(): void {
    this.#stream?.drained();
  }

  /** The body was written whole (err null), or writing it failed. */
  bodyWritten(err: Error | null): void {
    this.writing = false;
    if (err !== null) this.#fail(err, true);
    else this.#conn?.refreshHeadersTimeout();
  }

  /**
   * Ends the request with `err`: the connection is closed (never returned to the pool), the
   * handler hears the error, the body stream is destroyed. `withError`: destroy it with `err`.
   */
  #fail(err: Error, withError: boolean): void {
    if (this.finished) return;
    this.#end();
    this.#conn?.abandon(this);
    this.#handler.onResponseError?.(this, err);
    this.#stream?.stop(withError ? err : null, true);
  }

  /** Fails a request that never started: no controller was handed out yet. */
  #refuse(err: Error): void {
    this.#end();
    this.#handler.onResponseError?.(undefined as unknown as Dispatcher.DispatchController, err);
  }

  #end(): void {
    this.finished = true;
    this.#owner.ended(this);
  }
}

/** Writes a stream body as undici's writeStream and AsyncWriter do. Closures: only for stream bodies. */
class StreamBody {
  /** An error the stream reported before writing began. */
  error: Error | null = null;
  readonly #call: H1Call;
  readonly #body: Readable;
  #conn: H1Connection | null = null;
  #head = '';
  /** Content-Length sent, or null: chunked. */
  #length: number | null = null;
  #payload = false;
  #written = 0;
  #done = false;
  readonly #onData = (chunk: Buffer): void => this.#write(chunk);
  readonly #onEnd = (): void => this.#finish(null);
  readonly #onError = (err: Error): void => {
    if (this.#conn === null) this.error ??= err;
    else this.#finish(err);
  };
  readonly #onClose = (): void => {
    // 'close' may come before 'error' for a broken stream: give the error its turn.
    if (!this.#done) queueMicrotask(() => this.#finish(new errors.RequestAbortedError()));
  };

  constructor(call: H1Call, body: Readable) {
    this.#call = call;
    this.#body = body;
  }

  watch(): void {
    // Kept for good: destroying the body with an error below must find a listener.
    this.#body.on('error', this.#onError);
  }

  /** The length of a stream that has ended already (undici reads 0 bytes to learn it), else null. */
  endedLength(): number | null {
    const body = this.#body;
    body.read(0);
    const state = (body as { _readableState?: { objectMode?: boolean; ended?: boolean; length?: number } })._readableState;
    return state !== undefined && state.objectMode === false && state.ended === true && Number.isFinite(state.length) ? state.length! : null;
  }

  start(conn: H1Connection, head: string, length: number | null, payload: boolean): void {
    this.#conn = conn;
    this.#head = head;
    this.#length = length;
    this.#payload = payload;
    const body = this.#body;
    body.on('data', this.#onData).on('end', this.#onEnd).on('close', this.#onClose);
    body.resume();
    if (body.errored !== null) setImmediate(() => this.#finish(body.errored));
    else if (body.readableEnded) setImmediate(() => this.#finish(null));
    if (body.closed) setImmediate(this.#onClose);
  }

  drained(): void {
    if (!this.#done) this.#body.resume();
  }

  /**
   * The request ended otherwise (aborted, failed, answered): stop, and destroy the body, unless
   * writing never began and `always` is false (a connect failure leaves the body for a retry).
   */
  stop(err: Error | null, always: boolean): void {
    if (this.#conn === null && !always) return;
    if (!this.#done) {
      this.#done = true;
      this.#detach();
    }
    destroyBody(this.#body, err);
  }

  #write(chunk: Buffer): void {
    if (this.#done) return;
    const socket = this.#conn!.socket;
    if (socket.destroyed) return;
    const len = chunk.length;
    if (len === 0) return;
    const length = this.#length;
    if (length !== null && this.#written + len > length) {
      this.#finish(new errors.RequestContentLengthMismatchError());
      return;
    }
    socket.cork();
    if (this.#written === 0) {
      if (!this.#payload) this.#conn!.closeAfterResponse();
      socket.write(length === null ? `${this.#head}transfer-encoding: chunked\r\n` : `${this.#head}content-length: ${length}\r\n\r\n`, 'latin1');
    }
    // Chunked: the CRLF before the size ends the head or the previous chunk's data.
    if (length === null) socket.write(`\r\n${len.toString(16)}\r\n`, 'latin1');
    this.#written += len;
    const ok = socket.write(chunk);
    socket.uncork();
    if (!ok) {
      this.#conn!.refreshHeadersTimeout();
      this.#body.pause();
    }
  }

  /** The body ended (err null) or broke: close the framing, tell the request, destroy the body. */
  #finish(err: Error | null): void {
    if (this.#done) return;
    this.#done = true;
    this.#detach();
    if (err === null) err = this.#close();
    this.#call.bodyWritten(err);
    destroyBody(this.#body, err);
  }

  /** Writes the end of the body's framing; the error when it fell short of its Content-Length. */
  #close(): Error | null {
    const socket = this.#conn!.socket;
    if (socket.destroyed) return null;
    const length = this.#length;
    if (this.#written === 0) socket.write(this.#payload ? `${this.#head}content-length: 0\r\n\r\n` : `${this.#head}\r\n`, 'latin1');
    else if (length === null) socket.write('\r\n0\r\n\r\n', 'latin1');
    return length !== null && this.#written !== length ? new errors.RequestContentLengthMismatchError() : null;
  }

  #detach(): void {
    this.#body.off('data', this.#onData).off('end', this.#onEnd).off('close', this.#onClose);
  }
}

/**
 * undici's util.destroy: a client's IncomingMessage is detached from its socket first, or
 * destroying it would close the client's connection before its answer is written.
 */
function destroyBody(body: Readable, err: Error | null): void {
  if (body.destroyed) return;
  if ((Object.getPrototypeOf(body) as { constructor?: unknown } | null)?.constructor === IncomingMessage) (body as unknown as { socket: null }).socket = null;
  body.destroy(err ?? undefined);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
