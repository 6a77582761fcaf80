/**
 * Requests waiting for capacity: when every candidate endpoint is at its in-flight limit (the
 * balancer says `saturated`), a request waits here, first in first out, for a bounded time, rather
 * than failing at once (HAProxy's server queue behind `maxconn`; its users' complaint is a hot
 * key answered 503 while a slot would have freed a millisecond later). Bounded in length and in
 * time: past either, the request gets 503.
 *
 * The proxy retries the head of the queue whenever the load board reports capacity; the queue
 * itself only keeps order and time. Off the common path: an entry and a timer per waiting request.
 */
import type { Readable } from 'node:stream';
import type { Balancer } from '../balancer/balancer.js';
import type { RoutingKey } from '../balancer/hash.js';
import type { ClientRequest, ClientResponse } from './client-response.js';

export interface Waiting {
  /** The balancer it waits on: its subset's, or the proxy's own. */
  readonly balancer: Balancer;
  readonly req: ClientRequest;
  readonly res: ClientResponse;
  readonly key: RoutingKey | null;
  readonly path: string;
  readonly headers: string[];
  /** The request stream, the buffered body, or null. */
  readonly body: Readable | Buffer | null;
  /** A gRPC call's deadline in ms from its arrival, or null. */
  readonly deadlineMs: number | null;
  /** The proxy clock's time on arrival. */
  readonly sinceMs: number;
  timer: NodeJS.Timeout | null;
}

export class WaitQueue {
  readonly max: number;
  readonly timeoutMs: number;
  readonly #onTimeout: (w: Waiting) => void;
  #items: Waiting[] = [];

  constructor(max: number, timeoutMs: number, onTimeout: (w: Waiting) => void) {
    this.max = max;
    this.timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Queues `w` unless the queue is full; its timer answers it when its time is up. */
  offer(w: Waiting): boolean {
    if (this.#items.length >= this.max) return false;
    w.timer = setTimeout(() => {
      w.timer = null;
      this.remove(w);
      this.#onTimeout(w);
    }, this.timeoutMs);
    this.#items.push(w);
    return true;
  }

  peek(): Waiting | undefined {
    return this.#items[0];
  }

  /** Takes the head off the queue and stops its timer. */
  shift(): Waiting | undefined {
    const w = this.#items.shift();
    if (w?.timer != null) {
      clearTimeout(w.timer);
      w.timer = null;
    }
    return w;
  }

  remove(w: Waiting): void {
    const i = this.#items.indexOf(w);
    if (i >= 0) this.#items.splice(i, 1);
    if (w.timer !== null) {
      clearTimeout(w.timer);
      w.timer = null;
    }
  }

  /** Empties the queue, handing every entry to `each` (shutdown). */
  drainAll(each: (w: Waiting) => void): void {
    const items = this.#items;
    this.#items = [];
    for (const w of items) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.timer = null;
      each(w);
    }
  }
}
