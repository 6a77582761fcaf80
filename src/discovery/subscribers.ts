/**
 * The subscribers of an endpoint source: the first set is delivered on a later turn (never inside
 * `subscribe()`), nobody gets the same set twice, and the source hears when the first subscriber
 * arrives and the last one leaves, to start and stop its watch.
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import type { DiscoveryError } from './endpoint-source.js';

interface Subscriber {
  readonly onSet: (set: EndpointSet) => void;
  readonly onError: (error: DiscoveryError) => void;
  last: EndpointSet | null;
}

export class Subscribers {
  readonly #all = new Set<Subscriber>();
  readonly #onFirst: () => void;
  readonly #onLast: () => void;

  /** `onFirst` starts the source's watch, `onLast` stops it. */
  constructor(onFirst: () => void, onLast: () => void) {
    this.#onFirst = onFirst;
    this.#onLast = onLast;
  }

  get size(): number {
    return this.#all.size;
  }

  /** Adds one; `current()` is asked on the next turn for the set it starts with. Returns the idempotent unsubscribe. */
  add(onSet: (set: EndpointSet) => void, onError: (error: DiscoveryError) => void, current: () => EndpointSet | null): () => void {
    const s: Subscriber = { onSet, onError, last: null };
    this.#all.add(s);
    if (this.#all.size === 1) this.#onFirst();
    setImmediate(() => {
      const set = current();
      if (set !== null && this.#all.has(s) && s.last === null) {
        s.last = set;
        s.onSet(set);
      }
    });
    return () => {
      if (this.#all.delete(s) && this.#all.size === 0) this.#onLast();
    };
  }

  publish(set: EndpointSet): void {
    for (const s of [...this.#all]) {
      s.last = set;
      s.onSet(set);
    }
  }

  report(error: DiscoveryError): void {
    for (const s of [...this.#all]) s.onError(error);
  }

  /** Forgets every subscriber without telling the source (it is closing). */
  clear(): void {
    this.#all.clear();
  }
}
