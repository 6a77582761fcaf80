/**
 * An HTTP/2 client request as the proxy reads it, made from the session's 'stream' event (the
 * stream, Node's header object and its raw header list) instead of Node's compatibility layer:
 * the members of Node's IncomingMessage that the route stage, the exchange, the body timeouts and
 * the request observer read, and nothing else. The header object and the raw list are the ones
 * Node made for the event; the body is a view made only when the proxy reads it
 * (h2-request-body.ts).
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { H2RequestBody } from './h2-request-body.js';

/** What a request reads of its client connection; one per HTTP/2 session, shared by its streams. */
export interface ClientAddress {
  readonly remoteAddress: string | undefined;
}

export class H2StreamRequest {
  readonly stream: ServerHttp2Stream;
  /** Node's header object for the stream: pseudo-header fields included, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /** The field lines as received, flat [name, value, ...], pseudo-header fields first. */
  readonly rawHeaders: string[];
  readonly method: string;
  /** `:path`; absent only for a plain CONNECT, which is never routed. */
  readonly url: string | undefined;
  readonly socket: ClientAddress;
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  #body: H2RequestBody | null = null;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], client: ClientAddress) {
    this.stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.method = headers[':method'] ?? '';
    this.url = headers[':path'];
    this.socket = client;
  }

  /** The body as a Readable, made on the first call. */
  get body(): H2RequestBody {
    return (this.#body ??= new H2RequestBody(this.stream));
  }

  /** The body, if anyone has asked for it yet. */
  get openedBody(): H2RequestBody | null {
    return this.#body;
  }

  /**
   * The client has sent all it will: its HEADERS ended the stream, the body has been read to its
   * end, or the stream is closed (as Node's compatibility layer says it).
   */
  get complete(): boolean {
    const stream = this.stream;
    return stream.endAfterHeaders || this.#body?.readableEnded === true || stream.closed || stream.destroyed;
  }

  /** The body was destroyed (undici does once it has sent it), or, with no body read, the stream. */
  get destroyed(): boolean {
    const body = this.#body;
    return body === null ? this.stream.destroyed : body.destroyed;
  }
}
