/**
 * One generation of what the proxy routes with: a data plane (balancer, subsets, key source,
 * retries, health) and everything built over it for the request path (the upstream pools, the
 * waiting queue, the exchange context, the head reader for its subset headers, the body limits).
 * A configuration reload (src/config/reloader.ts) gives the proxy a new generation: requests that
 * start afterwards take the new one, while those already under way keep the generation they
 * started on, to its end, as Envoy drains a listener's old filter chains. Once the old one has no
 * request left it is drained: its pools close, and its owner closes its plane.
 *
 * A request takes its generation with take() when the proxy starts routing it and gives it back
 * with release() when its response closes, so counting costs two integer updates per request.
 */
import type { Balancer } from '../balancer/balancer.js';
import type { SubsetRouter } from '../balancer/subsets.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import type { ExchangeContext } from './exchange.js';
import type { RequestHeadReader } from './headers.js';
import type { KeySource } from './key-source.js';
import type { UpstreamPools } from './upstreams.js';
import type { WaitQueue } from './waiting.js';
import type { WebSocketRouting } from './websocket-routing.js';

/** What the proxy builds a generation from; the rest is read off the plane. */
export type RouteParts = Pick<RouteGeneration, 'plane' | 'ctx' | 'pools' | 'queue' | 'reader' | 'ws' | 'maxBodyBytes' | 'maxBodyBuffer' | 'stopCapacity'>;

export class RouteGeneration {
  readonly plane: DataPlane;
  /** The plane's balancer over every endpoint, read on every request. */
  readonly balancer: Balancer;
  readonly subsets: SubsetRouter | null;
  readonly keySource: KeySource | null;
  /** The header the key is read from, when it is one. */
  readonly keyField: string | null;
  readonly ctx: ExchangeContext;
  readonly pools: UpstreamPools;
  readonly queue: WaitQueue;
  readonly reader: RequestHeadReader;
  readonly ws: WebSocketRouting;
  /** Largest request body forwarded; 0: no limit. */
  readonly maxBodyBytes: number;
  /** Most bytes of a body read to find a `json:` key. */
  readonly maxBodyBuffer: number;
  /** Stops the plane's capacity reports to the proxy's queue. */
  readonly stopCapacity: () => void;
  #active = 0;
  #onDrained: (() => void) | null = null;

  constructor(parts: RouteParts) {
    this.plane = parts.plane;
    this.balancer = parts.plane.balancer;
    this.subsets = parts.plane.subsets;
    this.keySource = parts.plane.keySource;
    this.keyField = parts.plane.keySource?.header ?? null;
    this.ctx = parts.ctx;
    this.pools = parts.pools;
    this.queue = parts.queue;
    this.reader = parts.reader;
    this.ws = parts.ws;
    this.maxBodyBytes = parts.maxBodyBytes;
    this.maxBodyBuffer = parts.maxBodyBuffer;
    this.stopCapacity = parts.stopCapacity;
  }

  /** Requests routed on this generation whose responses have not closed. */
  get active(): number {
    return this.#active;
  }

  /** A request starts on this generation. */
  take(): void {
    this.#active++;
  }

  /** A request that took this generation is over (its response closed). */
  release(): void {
    if (--this.#active === 0) this.#drained();
  }

  /**
   * No new request takes this generation; `onDrained` is called once no request is left on it
   * (at once when none is; a request waiting in its queue still counts). Called once.
   */
  retire(onDrained: () => void): void {
    this.#onDrained = onDrained;
    if (this.#active === 0) this.#drained();
  }

  #drained(): void {
    const done = this.#onDrained;
    this.#onDrained = null;
    done?.();
  }
}
