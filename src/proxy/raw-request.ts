/**
 * A request on the raw HTTP/1.1 path (raw-front.ts): the parsed head (src/http1/request-head.ts)
 * with the members of Node's IncomingMessage that the route and dispatch stages read, so that both
 * paths share them. Like IncomingMessage it is a Readable of the body: its connection pushes the
 * body's bytes as they arrive (raw-connection.ts) and stops reading the socket while nobody takes
 * them (back-pressure: an unread body stays in the client's TCP window).
 */
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { RequestHead } from '../http1/request-head.js';

export class RawRequest extends Readable {
  readonly method: string;
  readonly url: string;
  /** Flat [name, value, ...] as sent, as Node's `rawHeaders`. */
  readonly rawHeaders: string[];
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: 0 | 1;
  readonly socket: Socket;
  /** The whole request has arrived: its body to the last byte (a request without one, from its head). */
  complete: boolean;
  #headers: Record<string, string> | null = null;
  /** Asks the connection for more body bytes (it resumes the socket); null without a body. */
  readonly #more: (() => void) | null;

  constructor(head: RequestHead, socket: Socket, more: (() => void) | null) {
    super();
    this.#more = more;
    this.method = head.method;
    this.url = head.target;
    this.rawHeaders = head.headers;
    this.httpVersionMinor = head.minor;
    this.socket = socket;
    this.complete = head.body === 'none' || head.contentLength === 0;
  }

  /**
   * The fields by lower-case name, the first value of each, as far as the proxy reads them
   * (Content-Length for body sizes, the access log). Built on first use: the request path reads
   * the flat list.
   */
  get headers(): Record<string, string> {
    if (this.#headers === null) {
      const h: Record<string, string> = {};
      const raw = this.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toLowerCase();
        h[name] ??= raw[i + 1]!;
      }
      this.#headers = h;
    }
    return this.#headers;
  }

  override _read(): void {
    // No body: ended at once when someone reads.
    if (this.#more === null) this.push(null);
    else this.#more();
  }
}
