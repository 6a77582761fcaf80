/**
 * The body of an HTTP/2 client request as the proxy forwards it: a Readable over the readable side
 * of the client's stream. Why not the stream itself: the same stream carries the response, and
 * undici destroys a request body once it has sent it (and one without autoDestroy when it ends),
 * which on the stream itself would reset the response before the pod has answered. Destroying this
 * view leaves the stream alone.
 *
 * It behaves as Node's IncomingMessage does for HTTP/1.1, which is what the rest of the proxy
 * reads: it flows only once someone reads it (undici, the h2c upstream, the JSON key reader), so
 * that a body held back by the proxy stays in the client's flow-control window; back-pressure
 * pauses the stream; a stream that closes or is reset before END_STREAM destroys the body with
 * an `aborted` error (emitted only to 'error' listeners, as Node does) instead of ending it, as
 * Node ends the stream itself, so that no pod takes a truncated body for a whole one.
 *
 * Cost: made only for a request with a body, when its reader asks; the stream's listeners are
 * static functions that find the body through a symbol on the stream, so nothing is bound per
 * request.
 */
import type { ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';

const kBody = Symbol('shardgate.h2RequestBody');

interface BodyStream extends ServerHttp2Stream {
  [kBody]?: H2RequestBody;
}

/** The client's stream closed before its body ended: one instance, as IncomingMessage's ECONNRESET says it. */
const ABORTED: Error = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });

export class H2RequestBody extends Readable {
  readonly #stream: BodyStream;
  /** The stream's listeners are on (from the first read). */
  #reading = false;
  /** END_STREAM came and every byte before it has been pushed. */
  #ended = false;
  #bytesRead = 0;

  constructor(stream: ServerHttp2Stream) {
    // Destroyed by its reader (undici does), or when the stream closes first; never by itself.
    super({ autoDestroy: false });
    this.#stream = stream;
    (stream as BodyStream)[kBody] = this;
  }

  /** Body bytes taken from the stream so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  override _read(): void {
    const stream = this.#stream;
    if (this.#reading) {
      stream.resume();
      return;
    }
    this.#reading = true;
    stream.on('data', H2RequestBody.#onData);
    stream.on('end', H2RequestBody.#onEnd);
    stream.on('close', H2RequestBody.#onClose);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // Node's IncomingMessage emits its error only when someone listens; a body nobody reads any
    // more (a refused request, say) must not bring the process down.
    callback(this.listenerCount('error') > 0 ? err : null);
  }

  static #onData(this: BodyStream, chunk: Buffer): void {
    const body = this[kBody]!;
    body.#bytesRead += chunk.length;
    // Back-pressure, or a body destroyed by its reader: the rest waits in the client's window.
    if (!body.push(chunk)) this.pause();
  }

  static #onEnd(this: BodyStream): void {
    const body = this[kBody]!;
    // Node ends the readable side of a stream that closes, too: after a reset from the client
    // (the stream is destroyed by then), or one that came while the response was still open
    // (`aborted`). Only END_STREAM ends the body; anything else cut it short.
    if (this.destroyed || this.aborted) {
      if (!body.destroyed) body.destroy(ABORTED);
      return;
    }
    body.#ended = true;
    body.push(null);
  }

  static #onClose(this: BodyStream): void {
    const body = this[kBody]!;
    if (!body.#ended && !body.destroyed) body.destroy(ABORTED);
  }
}
