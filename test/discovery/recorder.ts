/**
 * Records what an EndpointSource delivers, and waits (bounded) for the next delivery: the tests'
 * way to observe watch events without sleeping for fixed times.
 */
import type { EndpointSet } from '../../src/balancer/endpoint.js';
import type { DiscoveryError, EndpointSource } from '../../src/discovery/endpoint-source.js';

export type Delivery = { readonly kind: 'set'; readonly set: EndpointSet } | { readonly kind: 'error'; readonly error: DiscoveryError };

export class Recorder {
  readonly events: Delivery[] = [];
  #waiters: { readonly resolve: (d: Delivery) => void; readonly index: number }[] = [];
  unsubscribe: () => void = () => undefined;

  subscribe(source: EndpointSource): this {
    this.unsubscribe = source.subscribe(
      (set) => this.#push({ kind: 'set', set }),
      (error) => this.#push({ kind: 'error', error }),
    );
    return this;
  }

  get sets(): EndpointSet[] {
    return this.events.flatMap((e) => (e.kind === 'set' ? [e.set] : []));
  }

  get errors(): DiscoveryError[] {
    return this.events.flatMap((e) => (e.kind === 'error' ? [e.error] : []));
  }

  /** The delivery at position `index` (0-based), waiting up to `timeoutMs` for it. */
  at(index: number, timeoutMs = 5_000): Promise<Delivery> {
    const have = this.events[index];
    if (have !== undefined) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no delivery #${index} within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.kind))}`)), timeoutMs);
      this.#waiters.push({
        index,
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
      });
    });
  }

  /** The next delivery after those seen so far. */
  next(timeoutMs?: number): Promise<Delivery> {
    return this.at(this.events.length, timeoutMs);
  }

  #push(d: Delivery): void {
    this.events.push(d);
    const index = this.events.length - 1;
    const ready = this.#waiters.filter((w) => w.index === index);
    this.#waiters = this.#waiters.filter((w) => w.index !== index);
    for (const w of ready) w.resolve(d);
  }
}

export function names(set: EndpointSet): string[] {
  return set.endpoints.map((e) => e.name);
}
