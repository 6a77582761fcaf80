/**
 * One client connection on the raw HTTP/1.1 path: bytes from the socket, heads parsed by the
 * strict parser (src/http1/request-head.ts), one request at a time (a pipelined one waits in the
 * connection's buffer until the response before it has ended, as HTTP/1.1 answers in order), and
 * the keep-alive, idle and head timeouts that Node's server applies on the other path.
 *
 * What this path does not serve (raw-front.ts, servedByRawPath), and any head the parser refuses,
 * goes to Node's HTTP/1.1 server with the connection, between two requests: the bytes not yet
 * consumed are put back on the socket, and Node answers from there as it would have from the
 * start, so that refusals and everything else keep their one behaviour.
 */
import type { Socket } from 'node:net';
import type { Http1Error } from '../http1/errors.js';
import type { HeadLimits } from '../http1/head-parse.js';
import type { RequestHead } from '../http1/request-head.js';
import { parseRequestHead } from '../http1/request-head.js';
import { REPLIES } from './error-reply.js';
import { RawRequest } from './raw-request.js';
import type { RawResponseOwner } from './raw-response.js';
import { RawResponse } from './raw-response.js';

/** What a connection needs of its front. */
export interface RawConnectionHost {
  readonly limits: HeadLimits;
  readonly keepAliveLines: string;
  /** A head must arrive whole within this (0: no bound); keep-alive idle time; silence during a request. */
  readonly headersMs: number;
  readonly idleMs: number;
  readonly streamIdleMs: number;
  /** The proxy is shutting down: the connection closes after its current response. */
  readonly closing: boolean;
  /** This path serves the request with this head. */
  serves(head: RequestHead): boolean;
  /**
   * The bytes pipelined behind the response under way are not HTTP: that response is the
   * connection's last (Node's server does the same from its 'clientError').
   */
  malformed(res: RawResponse, error: Http1Error): void;
  /** Routes a request; its response's 'close' tells when it is over. */
  request(req: RawRequest, res: RawResponse): void;
  /** Node's server takes the connection over, with `bytes` (not consumed yet) put back first. */
  handOff(socket: Socket, bytes: Buffer | null): void;
  closed(connection: RawConnection): void;
}

const DATA_AFTER_CLOSE: Http1Error = Object.freeze({ code: 'bad-request-line', reason: 'Bytes followed a request that closes the connection (RFC 9112 section 9.6).' });

/** Bytes a client may send ahead while a response is under way before the connection stops reading. */
const MAX_PIPELINED_BYTES = 65_536;

export class RawConnection implements RawResponseOwner {
  readonly socket: Socket;
  readonly #host: RawConnectionHost;
  /** Bytes received and not consumed yet: a partial head, or requests pipelined behind the current one. */
  #pending: Buffer | null = null;
  /** The request under way, until its response ends. */
  #res: RawResponse | null = null;
  #headTimer: NodeJS.Timeout | null = null;
  #handedOff = false;
  /** The pipelined bytes were found malformed: nothing after the current response is read. */
  #malformed = false;
  /** The request under way lets the connection carry another (its version and Connection field). */
  #keepAlive = true;
  /** The request whose body is arriving (null while a body nobody wants is dropped), and its bytes still to come. */
  #bodyReq: RawRequest | null = null;
  #bodyLeft = 0;
  /** The socket is paused because the body's reader has enough for now. */
  #bodyPaused = false;
  readonly #more = (): void => {
    if (!this.#bodyPaused) return;
    this.#bodyPaused = false;
    this.socket.resume();
  };
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  readonly #onClose = (): void => this.#closed();
  readonly #onDrain = (): void => {
    this.#res?.emit('drain');
  };

  constructor(socket: Socket, host: RawConnectionHost) {
    this.socket = socket;
    this.#host = host;
    socket.on('data', this.#onData);
    socket.on('close', this.#onClose);
    socket.on('drain', this.#onDrain);
    socket.on('error', noop);
    socket.on('timeout', onSocketTimeout);
    socket.setTimeout(host.idleMs);
  }

  get keepAliveLines(): string {
    return this.#host.keepAliveLines;
  }

  /** No request under way: shutdown may close it at once. */
  get idle(): boolean {
    return this.#res === null;
  }

  #data(chunk: Buffer): void {
    if (this.#bodyLeft > 0) {
      this.#body(chunk, 0);
      return;
    }
    const pending = this.#pending;
    if (this.#res !== null) {
      // Pipelined behind the response under way: kept, in order, up to a bound.
      this.#pending = pending === null ? chunk : Buffer.concat([pending, chunk]);
      if (this.#pending.length > MAX_PIPELINED_BYTES) this.socket.pause();
      this.#checkPipelined();
      return;
    }
    this.#pending = null;
    this.#next(pending === null ? chunk : Buffer.concat([pending, chunk]));
  }

  /** Parses the next request from `buf` and serves it, waits for the rest of its head, or hands the connection over. */
  #next(buf: Buffer): void {
    const host = this.#host;
    const parsed = parseRequestHead(buf, 0, buf.length, host.limits);
    if (parsed.kind === 'partial') {
      this.#pending = buf;
      if (this.#headTimer === null && host.headersMs > 0) this.#headTimer = setTimeout(onHeadTimeout, host.headersMs, this);
      return;
    }
    if (this.#headTimer !== null) {
      clearTimeout(this.#headTimer);
      this.#headTimer = null;
    }
    if (parsed.kind === 'invalid' || !host.serves(parsed.head)) {
      this.#handOff(buf);
      return;
    }
    const head = parsed.head;
    const bodyLength = head.body === 'length' ? head.contentLength : 0;
    const socket = this.socket;
    const req = new RawRequest(head, socket, bodyLength > 0 ? this.#more : null);
    this.#keepAlive = head.keepAlive;
    const res = new RawResponse(req, socket, head.keepAlive && !host.closing, this);
    this.#res = res;
    if (host.streamIdleMs !== host.idleMs) socket.setTimeout(host.streamIdleMs);
    if (bodyLength === 0) {
      if (parsed.length < buf.length) this.#pending = buf.subarray(parsed.length);
      host.request(req, res);
      this.#checkPipelined();
      return;
    }
    this.#bodyReq = req;
    this.#bodyLeft = bodyLength;
    // As Node's server does: the request is routed on its head; the body follows as it arrives.
    host.request(req, res);
    if (parsed.length < buf.length) this.#body(buf, parsed.length);
  }

  /**
   * Body bytes from buf[at...]: pushed to the request (or dropped, for a body nobody wants any
   * more), up to its Content-Length; what follows is the next request's.
   */
  #body(buf: Buffer, at: number): void {
    const n = Math.min(this.#bodyLeft, buf.length - at);
    const req = this.#bodyReq;
    this.#bodyLeft -= n;
    if (req !== null && n > 0) {
      const more = req.push(at === 0 && n === buf.length ? buf : buf.subarray(at, at + n));
      if (!more && this.#bodyLeft > 0 && !this.#bodyPaused) {
        this.#bodyPaused = true;
        this.socket.pause();
      }
    }
    if (this.#bodyLeft === 0) {
      this.#bodyReq = null;
      if (req !== null) {
        req.complete = true;
        req.push(null);
      }
    }
    const rest = at + n;
    if (rest === buf.length) return;
    const next = buf.subarray(rest);
    if (this.#res !== null) {
      this.#pending = next;
      this.#checkPipelined();
    } else {
      this.#next(next);
    }
  }

  /**
   * Bytes pipelined behind the response under way are checked when they arrive, not when their
   * turn comes, as Node's parser reads ahead: a malformed head makes the current response the
   * last, and the bytes are never answered.
   */
  #checkPipelined(): void {
    const res = this.#res;
    const pending = this.#pending;
    if (res === null || pending === null || this.#malformed) return;
    let error: Http1Error;
    if (!this.#keepAlive) {
      // Bytes after a request that closes the connection (HTTP/1.0, Connection: close): llhttp
      // refuses them too.
      error = DATA_AFTER_CLOSE;
    } else {
      const parsed = parseRequestHead(pending, 0, pending.length, this.#host.limits);
      // Too many fields is not malformed for Node's parser (it drops the extra ones, and the route
      // stage refuses the request in its turn).
      if (parsed.kind !== 'invalid' || parsed.error.code === 'too-many-fields') return;
      error = parsed.error;
    }
    this.#malformed = true;
    this.#pending = null;
    this.socket.pause();
    this.#host.malformed(res, error);
  }

  /** RawResponseOwner: the response has been written; the next request, or the close. */
  responseEnded(res: RawResponse): void {
    if (this.#res !== res) return;
    this.#res = null;
    const socket = this.socket;
    res.detach();
    if (!res.shouldKeepAlive || res.closeWhenDone || this.#malformed || this.#host.closing) {
      // Node's `destroySoon`: the end after the writes, or a lingering close where one was asked.
      socket.destroySoon();
      return;
    }
    const host = this.#host;
    if (host.streamIdleMs !== host.idleMs) socket.setTimeout(host.idleMs);
    if (this.#bodyLeft > 0) {
      // Answered before its body was read (and kept alive): the rest of the body is read and
      // dropped, as Node's server dumps it; the next request follows it.
      this.#bodyReq = null;
      this.#more();
      return;
    }
    const pending = this.#pending;
    if (pending === null) return;
    this.#pending = null;
    if (socket.isPaused()) socket.resume();
    this.#next(pending);
  }

  /** Head timeout: 408, as Node's server answers a head that takes too long. */
  headTimedOut(): void {
    this.#headTimer = null;
    if (this.#res !== null || this.socket.destroyed) return;
    const socket = this.socket;
    socket.end(REPLIES.requestTimeout.raw, () => socket.destroy());
  }

  #handOff(buf: Buffer | null): void {
    this.#handedOff = true;
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.off('close', this.#onClose);
    socket.off('drain', this.#onDrain);
    socket.off('error', noop);
    socket.off('timeout', onSocketTimeout);
    socket.setTimeout(0);
    this.#pending = null;
    this.#host.closed(this);
    this.#host.handOff(socket, buf);
  }

  #closed(): void {
    if (this.#headTimer !== null) clearTimeout(this.#headTimer);
    this.#headTimer = null;
    const res = this.#res;
    this.#res = null;
    this.#pending = null;
    const req = this.#bodyReq;
    this.#bodyReq = null;
    this.#bodyLeft = 0;
    // The client left mid-body: the request is destroyed, as Node's server destroys it.
    if (req !== null && !req.complete) req.destroy();
    if (res !== null) {
      res.destroyed = true;
      res.detach();
    }
    if (!this.#handedOff) this.#host.closed(this);
  }
}

function onHeadTimeout(connection: RawConnection): void {
  connection.headTimedOut();
}

/** No byte either way for the idle or stream-idle time: closed, as Node's server closes it. */
function onSocketTimeout(this: Socket): void {
  this.destroy();
}

function noop(): void {}
