/**
 * The client body timeout (nginx's `client_body_timeout`, HAProxy's `timeout client` while a
 * request is read): a request body that stops arriving while the proxy is reading it ends the
 * request with 408, and its HTTP/1.1 connection or HTTP/2 stream, instead of holding both, and a
 * pod request, forever. `POST` with `Content-Length: 100` and then silence is the attack; with a
 * connection limit, a few hundred of them lock every other client out.
 *
 * "While the proxy is reading" is the point: a body that waits for a free endpoint, or that a slow
 * pod has not taken yet, is held back by the proxy itself (its request stream is paused and the
 * bytes stay in the client's window), and its client is not to blame for the silence. So the
 * silence counted is silence while the request stream flows (`readableFlowing`): someone (undici,
 * the h2c upstream, the JSON key reader) wants its bytes.
 *
 * Cost: no timer per request. Watched requests sit in one Set, swept every quarter of the timeout;
 * a request is timed out after four sweeps in a row found it flowing with no byte since the last,
 * that is after between 1 and 1.25 times the timeout of silence. Per request one Set entry, and a
 * 'data' listener from the moment its stream starts flowing (module functions, no closures).
 */
import type { Readable } from 'node:stream';
import type { ClientRequest, ClientResponse } from './client-response.js';
import { openedRequestBody, requestBody } from './client-response.js';

const SWEEPS = 4;
const kWatch = Symbol('shardgate.bodyWatch');

interface Watch {
  readonly req: ClientRequest;
  readonly res: ClientResponse;
  /** What the listeners are on: the request itself over HTTP/1.1, its body view over HTTP/2. */
  readonly body: Readable & WatchedBody;
  /** A body byte arrived since the last sweep. */
  seen: boolean;
  /** Sweeps in a row that found the stream flowing and silent. */
  quiet: number;
  readonly owner: BodyTimeouts;
}

interface WatchedBody {
  [kWatch]?: Watch | undefined;
}

export class BodyTimeouts {
  readonly timeoutMs: number;
  readonly #onTimeout: (req: ClientRequest, res: ClientResponse) => void;
  readonly #watched = new Set<Watch>();
  #timer: NodeJS.Timeout | null = null;

  /** `timeoutMs` 0 disables: watch() does nothing. `onTimeout` answers the request and ends it. */
  constructor(timeoutMs: number, onTimeout: (req: ClientRequest, res: ClientResponse) => void) {
    this.timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  /** Requests being watched now. */
  get size(): number {
    return this.#watched.size;
  }

  /**
   * Watches the body of `req` until it is complete, its request is closed, or `unwatch()`. Call
   * before the body's reader starts (its first read makes the stream flow).
   */
  watch(req: ClientRequest, res: ClientResponse): void {
    if (this.timeoutMs === 0 || req.complete || req.destroyed) return;
    const body = requestBody(res) as Readable & WatchedBody;
    if (body[kWatch] !== undefined) return;
    const w: Watch = { req, res, body, seen: false, quiet: 0, owner: this };
    body[kWatch] = w;
    this.#watched.add(w);
    // Listening for 'data' before anyone reads would start the stream flowing into nowhere: wait
    // for the reader to start it.
    if (body.readableFlowing === true) body.on('data', onWatchedData);
    else body.once('resume', onWatchedResume);
    body.once('end', onWatchedEnd);
    body.once('close', onWatchedEnd);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#sweep(), Math.max(1, Math.floor(this.timeoutMs / SWEEPS)));
      this.#timer.unref();
    }
  }

  /** Stops watching the request of `res` (its exchange ended). Idempotent. */
  unwatch(res: ClientResponse): void {
    const body = openedRequestBody(res);
    const w = body === null ? undefined : (body as Readable & WatchedBody)[kWatch];
    if (w !== undefined) this.#forget(w);
  }

  /** Stops the sweep (proxy closed). */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const w of [...this.#watched]) this.#forget(w);
  }

  #forget(w: Watch): void {
    const body = w.body;
    body[kWatch] = undefined;
    body.off('data', onWatchedData);
    body.off('resume', onWatchedResume);
    body.off('end', onWatchedEnd);
    body.off('close', onWatchedEnd);
    this.#watched.delete(w);
    if (this.#watched.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #sweep(): void {
    for (const w of this.#watched) {
      const req = w.req;
      if (req.complete || req.destroyed) {
        this.#forget(w);
      } else if (w.seen) {
        w.seen = false;
        w.quiet = 0;
      } else if (w.body.readableFlowing !== true) {
        // Held back by the proxy (queue, back-pressure): not the client's silence.
        w.quiet = 0;
      } else if (++w.quiet >= SWEEPS) {
        this.#forget(w);
        this.#onTimeout(req, w.res);
      }
    }
  }
}

function onWatchedData(this: Readable & WatchedBody): void {
  const w = this[kWatch];
  if (w !== undefined) w.seen = true;
}

function onWatchedResume(this: Readable & WatchedBody): void {
  if (this[kWatch] !== undefined) this.on('data', onWatchedData);
}

function onWatchedEnd(this: Readable & WatchedBody): void {
  const w = this[kWatch];
  if (w !== undefined) w.owner.unwatch(w.res);
}
