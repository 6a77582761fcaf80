/**
 * The response to an HTTP/2 client request, written straight to the client's stream instead of
 * through Node's compatibility layer (Http2ServerResponse): no Stream object, no header map per
 * response, no relayed events. It carries what the proxy keeps per request (the exchange, the
 * route lease, the proxy's own reply) and the members of Node's responses that the data plane
 * uses: `writeHead()` with a flat field list, `write()` with the stream's back-pressure,
 * `end()`, `addTrailers()`, `writeContinue()`, `destroy()`, `headersSent`, `statusCode`,
 * `writableEnded`.
 *
 * - One `stream.respond()` per head. Node 20's respond() takes only a header object (the raw
 *   [name, value, ...] form came later), so the flat list becomes one object, once.
 * - A relayed response (`relayHead()`) that may end with trailers asks for them
 *   (`waitForTrailers`): the pod's trailers arrive only at its end, when the stream's
 *   'wantTrailers' sends them, or none. Asking costs a deferred call and an empty DATA frame per
 *   response, so a response that can have none ends without: one whose length the pod declared
 *   with no Trailer field, to a client that did not ask for trailers (TE: trailers, as gRPC does).
 *   An HTTP/1.1 pod cannot send trailers after a Content-Length body at all; an HTTP/2 pod could,
 *   undeclared, and a proxy may drop such trailers (RFC 9110 section 6.5.1). The proxy's own
 *   answers end without.
 * - The stream's listeners are module functions that find the response through a symbol on the
 *   stream: nothing is bound per response. The response's 'close' is the stream's, which the
 *   front listens to itself (node-front.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { RouteLease } from './client-response.js';
import type { ErrorReply } from './error-reply.js';
import type { Exchange } from './exchange.js';
import type { H2StreamRequest } from './h2-stream-request.js';

const kResponse = Symbol('shardgate.h2Response');

interface LinkedStream extends ServerHttp2Stream {
  [kResponse]?: H2StreamResponse;
}

// Node copies headers and options it is given, so these can be shared.
const CONTINUE: OutgoingHttpHeaders = Object.freeze({ ':status': 100 });
const NO_TRAILERS: OutgoingHttpHeaders = Object.freeze({});
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });
const END_STREAM = Object.freeze({ endStream: true });
/** One instance for every reset: only its presence matters (it makes Node's code INTERNAL_ERROR). */
const CUT_SHORT = new Error('the response was cut short');

export class H2StreamResponse {
  readonly h2 = true;
  readonly stream: ServerHttp2Stream;
  readonly req: H2StreamRequest;
  exchange: Exchange | null = null;
  /** The proxy has handled this response's close (see NodeFront#responseClosed). */
  closeSeen = false;
  /** A gRPC call: the proxy's own failures are answered as gRPC statuses. */
  grpc = false;
  /** The client sent `Expect: 100-continue` and has had no `100` yet (see sendContinue). */
  continuePending = false;
  /** When the proxy took the request (the clock's ms), for the request's total time. */
  startedMs = 0;
  /** The proxy's own answer (a refusal, a failure), if it sent one: its code names the cause. */
  reply: ErrorReply | null = null;
  /** The route generation the request took (route-generation.ts), until the response closes. */
  generation: RouteLease | null = null;
  /** The status of the head written; 200 until then, as Node's responses say. */
  statusCode = 200;
  /** end() has been called. */
  writableEnded = false;
  /** Trailer fields for the end of a relayed response, sent when the stream asks for them. */
  trailers: OutgoingHttpHeaders | null = null;
  /** The stream idle sweep's marks (stream-idle-timeouts.ts): the progress it saw last, and sweeps since. */
  idleSeen = 0;
  idleSweeps = 0;
  /** Heads and chunks written, and drains: what the proxy did on the stream's writable side. */
  #moved = 0;

  constructor(req: H2StreamRequest) {
    this.req = req;
    this.stream = req.stream;
    (req.stream as LinkedStream)[kResponse] = this;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  /** Grows with every step either way: written, drained, or body bytes read. */
  get progress(): number {
    return this.#moved + (this.req.openedBody?.bytesRead ?? 0);
  }

  /** The head of one of the proxy's own answers: `fields` flat [name, value, ...]; no trailers follow. */
  writeHead(status: number, fields: readonly (string | string[])[]): void {
    this.#respond(status, fields, false);
  }

  /**
   * A pod's response head: `fields` as the client gets them, `podHeaders` as the pod sent them.
   * Its trailers, if it may send any, follow the body (addTrailers).
   */
  relayHead(status: number, fields: readonly (string | string[])[], podHeaders: IncomingHttpHeaders): void {
    const trailers = podHeaders['content-length'] === undefined || podHeaders.trailer !== undefined || this.grpc || this.req.headers.te !== undefined;
    this.#respond(status, fields, trailers);
  }

  /** A body chunk; false: wait for the stream's 'drain' (resumeOnDrain). */
  write(chunk: Buffer): boolean {
    this.#moved++;
    return this.stream.write(chunk);
  }

  /** Ends the response, with a last chunk; trailers given to addTrailers go after it. */
  end(chunk?: Buffer): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    this.#moved++;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    // Nothing written yet: the status alone (200, as Node's responses default to).
    if (!stream.headersSent) stream.respond({ ':status': this.statusCode }, chunk === undefined ? END_STREAM : undefined);
    // A HEAD request's stream, or a 204 or 304, is ended by Node at respond(): no body goes out.
    if (stream.writableEnded) return;
    if (chunk === undefined) stream.end();
    else stream.end(chunk);
  }

  addTrailers(fields: OutgoingHttpHeaders): void {
    this.trailers = fields;
  }

  /** `100 Continue`: the client may send the body it held back. */
  writeContinue(): void {
    const stream = this.stream;
    if (stream.headersSent || stream.destroyed || stream.closed) return;
    stream.additionalHeaders(CONTINUE);
  }

  /**
   * Resets the stream with INTERNAL_ERROR: a response cut short must not look complete. (Without
   * an error Node resets with NO_ERROR, after which a client takes what it got for the whole
   * response; `close(code)` would send END_STREAM before the reset.)
   */
  destroy(): void {
    this.stream.destroy(CUT_SHORT);
  }

  /** From now on, each time the client has taken what it was sent, the exchange reads on. */
  resumeOnDrain(): void {
    this.stream.on('drain', H2StreamResponse.#onDrain);
  }

  #respond(status: number, fields: readonly (string | string[])[], trailers: boolean): void {
    const stream = this.stream;
    // The client reset the stream: there is no one to answer.
    if (stream.destroyed || stream.closed) return;
    const headers: OutgoingHttpHeaders = { ':status': status };
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i] as string;
      const value = fields[i + 1]!;
      const before = headers[name];
      // A repeated name (the endpoint header a pod sent too, say) keeps every value.
      headers[name] = before === undefined ? value : ([] as string[]).concat(before as string | string[], value);
    }
    this.statusCode = status;
    this.#moved++;
    if (trailers) {
      stream.respond(headers, WAIT_FOR_TRAILERS);
      stream.on('wantTrailers', onWantTrailers);
    } else {
      stream.respond(headers);
    }
  }

  static #onDrain(this: LinkedStream): void {
    const res = this[kResponse];
    if (res === undefined) return;
    res.#moved++;
    res.exchange?.resume();
  }
}

/** The response of a stream that the front made one for. */
export function responseOf(stream: ServerHttp2Stream): H2StreamResponse | undefined {
  return (stream as LinkedStream)[kResponse];
}

function onWantTrailers(this: LinkedStream): void {
  const fields = this[kResponse]?.trailers ?? NO_TRAILERS;
  try {
    this.sendTrailers(fields);
  } catch {
    // Node refused a field the pod sent: the response still ends, without its trailers.
    if (fields !== NO_TRAILERS) this.sendTrailers(NO_TRAILERS);
  }
}
