import { Transform } from 'node:stream';
import type { ClientResponse } from './client-response.js';
import { REPLIES, sendReply } from './error-reply.js';

/**
 * A request body on its way to the pod, counted: past `limit` bytes the client gets 413 (and,
 * over HTTP/1.1, its connection closes), and the pod's request fails, so no truncated body is
 * ever taken for a whole one.
 */
export class BodyLimit extends Transform {
  readonly #limit: number;
  readonly #res: ClientResponse;
  #seen = 0;

  constructor(limit: number, res: ClientResponse) {
    super();
    this.#limit = limit;
    this.#res = res;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null, data?: Buffer) => void): void {
    this.#seen += chunk.length;
    if (this.#seen <= this.#limit) {
      callback(null, chunk);
      return;
    }
    const res = this.#res;
    if (res.exchange !== null) res.exchange.abandon(REPLIES.bodyTooLarge);
    else if (!res.headersSent) sendReply(res, REPLIES.bodyTooLarge, null, true);
    callback(new Error(`the request body passed ${this.#limit} bytes`));
  }
}
