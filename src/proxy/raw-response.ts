/**
 * A response on the raw HTTP/1.1 path (raw-connection.ts): the members of Node's ServerResponse
 * that the dispatch stage, the Exchange, the error replies and the metrics use, written straight
 * to the client's socket. The head is framed as Node frames it, so that a client cannot tell the
 * two paths apart: the fields given, then Date, Connection (`keep-alive` with `Keep-Alive:
 * timeout=N`, or `close`), and Transfer-Encoding: chunked when the length is unknown and the
 * client speaks HTTP/1.1 (an HTTP/1.0 client gets the body up to the close). HEAD, 204 and 304
 * responses carry no body. Field names and values are checked as Node checks them.
 *
 * Writes: the head is corked until the end of the tick, so that a head, a small body and the end
 * written together (a pod's answer that came in one read) leave in one write. Cost per response:
 * this object (an EventEmitter, as the Exchange listens for 'drain', the front for 'close') and
 * the head string.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { FIELD_VALUE, TCHAR } from '../http1/chars.js';
import { withHttp1State } from './client-response.js';
import type { RawRequest } from './raw-request.js';

/** What the response needs of its connection. */
export interface RawResponseOwner {
  /** `Connection: keep-alive` and `Keep-Alive: timeout=N` lines, as Node's server writes them. */
  readonly keepAliveLines: string;
  /** The response has been written whole (or cut): the connection goes on or closes. */
  responseEnded(res: RawResponse): void;
}

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n';
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

export class RawResponse extends withHttp1State(EventEmitter) {
  readonly req: RawRequest;
  /** The client's connection, until the response has ended. */
  socket: Socket | null;
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  /** The connection may carry the next request (the request's version and Connection field). */
  shouldKeepAlive: boolean;
  readonly #owner: RawResponseOwner;
  #chunked = false;
  /** HEAD, 1xx, 204, 304: no body bytes, whatever is written. */
  #bodyless = false;
  #trailers = '';

  constructor(req: RawRequest, socket: Socket, keepAlive: boolean, owner: RawResponseOwner) {
    super();
    this.req = req;
    this.socket = socket;
    this.shouldKeepAlive = keepAlive;
    this.#owner = owner;
  }

  /**
   * Writes the status line and `headers` (flat [name, value, ...]; an array value is one line
   * each), with Node's own additions.
   * @throws TypeError for a field name that is not a token or a value with forbidden characters
   */
  writeHead(status: number, headers: readonly (string | string[])[]): this {
    if (this.headersSent) throw new Error('RawResponse: the head has been written already');
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status code ${String(status)}`);
    const socket = this.socket;
    if (socket === null) return this;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let framed = false;
    let connection = false;
    let dated = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1]!;
      checkName(name);
      if (typeof value === 'string') {
        checkValue(name, value);
        head += `${name}: ${value}\r\n`;
      } else {
        for (const v of value) {
          checkValue(name, v);
          head += `${name}: ${v}\r\n`;
        }
      }
      // Only names of these lengths matter here: lower-case just those.
      const n = name.length;
      if (n === 14 || n === 17) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') framed = true;
        else if (lower === 'transfer-encoding') {
          framed = true;
          this.#chunked = String(value).toLowerCase().includes('chunked');
        }
      } else if (n === 10 && name.toLowerCase() === 'connection') {
        connection = true;
        if (String(value).toLowerCase().includes('close')) this.shouldKeepAlive = false;
      } else if (n === 4 && name.toLowerCase() === 'date') {
        dated = true;
      }
    }
    this.statusCode = status;
    this.#bodyless = this.req.method === 'HEAD' || status < 200 || status === 204 || status === 304;
    // An HTTP/1.1 client gets chunks when the length is unknown; an HTTP/1.0 one the body up to the close.
    const chunk = !framed && !this.#bodyless && this.req.httpVersionMinor === 1;
    if (!framed && !this.#bodyless && !chunk) this.shouldKeepAlive = false;
    // The pod's own Date passes; Node adds one only where there is none.
    if (!dated) head += httpDate();
    if (!connection) head += this.shouldKeepAlive ? this.#owner.keepAliveLines : 'Connection: close\r\n';
    if (chunk) {
      head += 'Transfer-Encoding: chunked\r\n';
      this.#chunked = true;
    }
    head += CRLF;
    this.headersSent = true;
    // Held until the end of the tick: a body and the end written now go in the same write.
    socket.cork();
    socket.write(head, 'latin1');
    process.nextTick(uncork, socket);
    return this;
  }

  // The listener overloads of Node's responses, so that code listening on either kind type-checks.
  override on(event: 'close' | 'drain' | 'finish', listener: () => void): this;
  override on(event: string | symbol, listener: (...args: unknown[]) => void): this;
  override on(event: string | symbol, listener: (...args: unknown[]) => void): this {
    return super.on(event, listener);
  }

  /** Writes a body chunk; false asks the writer to wait for 'drain'. */
  write(chunk: Uint8Array | string): boolean {
    const socket = this.socket;
    if (socket === null || this.writableEnded) return false;
    if (!this.headersSent) this.writeHead(this.statusCode, []);
    if (this.#bodyless || chunk.length === 0) return true;
    if (!this.#chunked) return socket.write(chunk);
    socket.cork();
    socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n`, 'latin1');
    socket.write(chunk);
    const more = socket.write(CRLF, 'latin1');
    socket.uncork();
    return more;
  }

  /** Trailer fields, sent after the last chunk of a chunked body (and dropped otherwise, as Node does). */
  addTrailers(trailers: Record<string, string | string[]>): void {
    let lines = '';
    for (const name of Object.keys(trailers)) {
      checkName(name);
      const value = trailers[name]!;
      for (const v of typeof value === 'string' ? [value] : value) {
        checkValue(name, v);
        lines += `${name}: ${v}\r\n`;
      }
    }
    this.#trailers = lines;
  }

  // The overloads of Node's responses, so that code ending either kind of response type-checks.
  end(callback?: () => void): this;
  end(data: string | Uint8Array, callback?: () => void): this;
  end(data: string | Uint8Array, encoding: BufferEncoding, callback?: () => void): this;
  end(arg?: string | Uint8Array | (() => void)): this {
    const data = typeof arg === 'function' ? undefined : arg;
    if (this.writableEnded) return this;
    const socket = this.socket;
    if (socket === null) return this;
    if (!this.headersSent) this.writeHead(this.statusCode, data === undefined ? ['content-length', '0'] : ['content-length', String(Buffer.byteLength(data))]);
    if (data !== undefined && data.length > 0) this.write(data);
    this.writableEnded = true;
    if (this.#chunked && !this.#bodyless) socket.write(`${LAST_CHUNK}${this.#trailers}\r\n`, 'latin1');
    process.nextTick(ended, this);
    return this;
  }

  /** `100 Continue`, for a client that asked to be invited to send its body. */
  writeContinue(): void {
    this.socket?.write(CONTINUE, 'latin1');
  }

  /** Cuts the connection: a response cut short must not look complete to the client. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.socket?.destroy();
    return this;
  }

  /** The end has been written (a tick after end()): 'finish', and the connection goes on or closes. */
  settle(): void {
    if (this.socket === null) return;
    this.emit('finish');
    this.#owner.responseEnded(this);
  }

  /** The connection closed under the response, or it ended: its 'close', once. */
  detach(): void {
    this.socket = null;
    this.emit('close');
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}

function ended(res: RawResponse): void {
  res.settle();
}

let dateSecond = -1;
let dateLine = '';

/** `Date: ...` for now, made once a second (RFC 9110 section 6.6.1: origin servers send it; Node's server does). */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

function checkName(name: string): void {
  let ok = name.length > 0;
  for (let i = 0; ok && i < name.length; i++) {
    const c = name.charCodeAt(i);
    ok = c <= 0xff && TCHAR[c] === 1;
  }
  if (!ok) throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name}"]`), { code: 'ERR_INVALID_HTTP_TOKEN' });
}

function checkValue(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) {
      throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
    }
  }
}
