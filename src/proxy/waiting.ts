/**
 * Requests waiting for capacity: when every candidate endpoint is at its in-flight limit (the
 * balancer says `saturated`), a request waits here, first in first out, for a bounded time, rather
 * than failing at once (HAProxy's server queue behind `maxconn`; its users' complaint is a hot
 * key answered 503 while a slot would have freed a millisecond later). Bounded in length and in
 * time: past either, the request gets 503.
 *
 * The proxy retries the head of the queue whenever the load board reports capacity; the queue
 * itself only keeps order and time, on the routed request's own `sinceMs` and `timer` fields. Off
 * the common path: a timer per waiting request.
 */
import type { RoutedRequest } from './routed-request.js';

export class WaitQueue {
  readonly max: number;
  readonly timeoutMs: number;
  readonly #onTimeout: (w: RoutedRequest) => void;
  #items: RoutedRequest[] = [];

  constructor(max: number, timeoutMs: number, onTimeout: (w: RoutedRequest) => void) {
    this.max = max;
    this.timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Queues `w` unless the queue is full; its timer answers it when its time is up. */
  offer(w: RoutedRequest, nowMs: number): boolean {
    if (this.#items.length >= this.max) return false;
    w.sinceMs = nowMs;
    w.timer = setTimeout(() => {
      w.timer = null;
      this.remove(w);
      this.#onTimeout(w);
    }, this.timeoutMs);
    this.#items.push(w);
    return true;
  }

  peek(): RoutedRequest | undefined {
    return this.#items[0];
  }

  /** Takes the head off the queue and stops its timer. */
  shift(): RoutedRequest | undefined {
    const w = this.#items.shift();
    if (w?.timer != null) {
      clearTimeout(w.timer);
      w.timer = null;
    }
    return w;
  }

  remove(w: RoutedRequest): void {
    const i = this.#items.indexOf(w);
    if (i >= 0) this.#items.splice(i, 1);
    if (w.timer !== null) {
      clearTimeout(w.timer);
      w.timer = null;
    }
  }

  /** Empties the queue, handing every entry to `each` (shutdown). */
  drainAll(each: (w: RoutedRequest) => void): void {
    const items = this.#items;
    this.#items = [];
    for (const w of items) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.timer = null;
      each(w);
    }
  }
}
