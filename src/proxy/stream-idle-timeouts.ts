/**
 * The stream idle timeout of HTTP/2 client requests (`streamIdleMs`; HTTP/1.1 has it from the
 * server's socket timeout): a stream with no progress either way for that long (a client that
 * stopped reading its response, a body that stopped, a pod that never answers) is reset with
 * CANCEL, which ends its exchange as cancelled.
 *
 * Progress is what the proxy did on the stream: response heads and chunks written, the client
 * draining what it was sent, request body bytes read (H2StreamResponse.progress). Node's own
 * stream timeout (`stream.setTimeout`) would cost a timer, a bound function and a listener per
 * stream, and a timer refresh per frame; here watched streams sit in one Set, swept every quarter
 * of the timeout, and a stream is reset after four sweeps in a row found it without progress since
 * the one before: after between 1 and 1.25 times the timeout of silence. Per stream one Set entry
 * and two numbers on its response.
 */
import http2 from 'node:http2';
import type { H2StreamResponse } from './h2-stream-response.js';

const SWEEPS = 4;
const { NGHTTP2_CANCEL } = http2.constants;

export class StreamIdleTimeouts {
  readonly timeoutMs: number;
  readonly #watched = new Set<H2StreamResponse>();
  #timer: NodeJS.Timeout | null = null;

  /** `timeoutMs` 0 disables: watch() does nothing. */
  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** Streams being watched now. */
  get size(): number {
    return this.#watched.size;
  }

  /** Watches the stream of `res` until unwatch() (its response closed). */
  watch(res: H2StreamResponse): void {
    if (this.timeoutMs === 0) return;
    // The first sweep counts as progress, so that a stream is never reset before a whole timeout.
    res.idleSeen = -1;
    res.idleSweeps = 0;
    this.#watched.add(res);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#sweep(), Math.max(1, Math.floor(this.timeoutMs / SWEEPS)));
      this.#timer.unref();
    }
  }

  /** Idempotent. */
  unwatch(res: H2StreamResponse): void {
    if (!this.#watched.delete(res)) return;
    if (this.#watched.size === 0) this.#stop();
  }

  /** Stops the sweep (the proxy closed). */
  close(): void {
    this.#watched.clear();
    this.#stop();
  }

  #stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sweep(): void {
    for (const res of this.#watched) {
      const progress = res.progress;
      if (progress !== res.idleSeen) {
        res.idleSeen = progress;
        res.idleSweeps = 0;
        continue;
      }
      if (++res.idleSweeps < SWEEPS) continue;
      this.unwatch(res);
      const stream = res.stream;
      if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
    }
  }
}
