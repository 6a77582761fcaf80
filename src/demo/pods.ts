/**
 * The demo's backend pods: node:http servers on 127.0.0.1 ephemeral ports that answer
 * `{"pod":"pod-2","request_count":N}`, as the service in the talk's demo does. Every number the demo
 * prints about the backends (requests, keys, peak concurrency) is counted here, in the servers, so
 * it shows what the pods saw, not what a balancer believes it sent.
 *
 * A pod can be made slow (a delay drawn per request from an injected Rng) so that requests overlap
 * and concurrency becomes visible.
 */
import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { EndpointSpec } from '../balancer/endpoint.js';
import type { Rng } from '../balancer/rng.js';

export interface PodDelay {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface PodOptions {
  /** Header whose value the pod records as the request's key (`x-account`). */
  readonly keyHeader: string;
  /** Draws the per-request delay of a slow pod. */
  readonly rng: Rng;
}

/** In-flight requests summed over a fleet, so that a peak across pods is seen at one instant. */
export interface InflightGauge {
  inflight: number;
  peakInflight: number;
}

/** Beyond this many distinct keys a pod counts requests without remembering the key, so that a long `--serve` session cannot grow the map without bound. */
export const MAX_TRACKED_KEYS = 100_000;

export class DemoPod {
  readonly name: string;
  requestCount = 0;
  inflight = 0;
  peakInflight = 0;
  /** Requests per key value, for requests that carried the key header. */
  readonly keys = new Map<string, number>();
  /** Requests whose key arrived after MAX_TRACKED_KEYS distinct keys. */
  untrackedKeyRequests = 0;
  /** Requests or connections that failed on the pod's side (client gone mid-request, bad HTTP). */
  errors = 0;
  readonly #server: Server;
  readonly #options: PodOptions;
  readonly #gauge: InflightGauge;
  readonly #headerName: string;
  #delay: PodDelay | null = null;
  #bound: AddressInfo | null = null;

  constructor(name: string, options: PodOptions, gauge: InflightGauge = { inflight: 0, peakInflight: 0 }) {
    this.name = name;
    this.#options = options;
    this.#gauge = gauge;
    this.#headerName = options.keyHeader.toLowerCase();
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('clientError', (_err: Error, socket: Socket) => {
      this.errors++;
      socket.destroy();
    });
  }

  /** Where the pod listens, once started. */
  get listening(): { readonly host: string; readonly port: number } {
    if (this.#bound === null) throw new Error(`pod ${this.name} is not listening: await start() first`);
    return { host: this.#bound.address, port: this.#bound.port };
  }

  /** `127.0.0.1:port`, the endpoint address a discovery source would report. */
  get address(): string {
    const { host, port } = this.listening;
    return `${host}:${port}`;
  }

  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.#bound = this.#server.address() as AddressInfo;
  }

  /** Makes every later request wait a uniform random time in [minMs, maxMs]; null answers at once. */
  setDelay(delay: PodDelay | null): void {
    if (delay !== null && !(delay.minMs >= 0 && delay.maxMs >= delay.minMs)) {
      throw new RangeError(`pod delay is ${JSON.stringify(delay)}: give 0 <= minMs <= maxMs`);
    }
    this.#delay = delay;
  }

  /** Starts a new measurement; requests still in flight keep counting toward `inflight` only. */
  reset(): void {
    this.requestCount = 0;
    this.peakInflight = this.inflight;
    this.keys.clear();
    this.untrackedKeyRequests = 0;
    this.errors = 0;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = once(this.#server, 'close');
    this.#server.close();
    // Keep-alive connections from clients and proxies would hold close() open until they idle out.
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const count = ++this.requestCount;
    const gauge = this.#gauge;
    if (++this.inflight > this.peakInflight) this.peakInflight = this.inflight;
    if (++gauge.inflight > gauge.peakInflight) gauge.peakInflight = gauge.inflight;
    this.#recordKey(req.headers[this.#headerName]);

    let timer: NodeJS.Timeout | null = null;
    // 'close' comes once per response, whether it finished or the client went away: the one place
    // where a request stops counting as in flight.
    res.once('close', () => {
      this.inflight--;
      gauge.inflight--;
      if (timer !== null) clearTimeout(timer);
      if (!res.writableFinished) this.errors++;
    });
    req.on('error', () => {
      this.errors++;
    });
    res.on('error', () => {
      this.errors++;
    });
    req.resume();

    const body = JSON.stringify({ pod: this.name, request_count: count });
    const send = (): void => {
      timer = null;
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const delay = this.#delay;
    if (delay === null) {
      send();
      return;
    }
    const span = delay.maxMs - delay.minMs;
    const ms = delay.minMs + (span === 0 ? 0 : this.#options.rng.below(span + 1));
    timer = setTimeout(send, ms);
  }

  #recordKey(value: string | string[] | undefined): void {
    if (value === undefined) return;
    const key = Array.isArray(value) ? value.join(',') : value;
    const seen = this.keys.get(key);
    if (seen !== undefined) this.keys.set(key, seen + 1);
    else if (this.keys.size < MAX_TRACKED_KEYS) this.keys.set(key, 1);
    else this.untrackedKeyRequests++;
  }
}

/** The demo's pods, `pod-0` to `pod-{n-1}`, started and closed together. */
export class PodFleet {
  readonly pods: readonly DemoPod[];
  /** In flight across every pod; its peak is what a client's concurrency actually produced. */
  readonly gauge: InflightGauge = { inflight: 0, peakInflight: 0 };

  private constructor(count: number, options: PodOptions) {
    this.pods = Array.from({ length: count }, (_, i) => new DemoPod(`pod-${i}`, options, this.gauge));
  }

  /** Starts `count` pods; when one cannot listen, the ones already started are closed before the error is thrown. */
  static async start(count: number, options: PodOptions): Promise<PodFleet> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`pod count is ${String(count)}: give an integer >= 1`);
    const fleet = new PodFleet(count, options);
    try {
      await Promise.all(fleet.pods.map((p) => p.start()));
    } catch (err) {
      await fleet.close();
      throw err;
    }
    return fleet;
  }

  /** What a discovery source would report for these pods; `leaving` names pods to leave out. */
  endpointSpecs(leaving: readonly string[] = []): EndpointSpec[] {
    return this.pods.filter((p) => !leaving.includes(p.name)).map((p) => ({ name: p.name, address: p.address }));
  }

  get(name: string): DemoPod {
    const pod = this.pods.find((p) => p.name === name);
    if (pod === undefined) throw new RangeError(`no pod named ${JSON.stringify(name)}: the fleet has ${this.pods.map((p) => p.name).join(', ')}`);
    return pod;
  }

  setDelay(delay: PodDelay | null): void {
    for (const p of this.pods) p.setDelay(delay);
  }

  reset(): void {
    for (const p of this.pods) p.reset();
    this.gauge.peakInflight = this.gauge.inflight;
  }

  /** Number of distinct keys that reached more than one pod since the last reset. */
  keysOnSeveralPods(): number {
    const seenOn = new Map<string, number>();
    for (const p of this.pods) for (const k of p.keys.keys()) seenOn.set(k, (seenOn.get(k) ?? 0) + 1);
    let several = 0;
    for (const n of seenOn.values()) if (n > 1) several++;
    return several;
  }

  async close(): Promise<void> {
    await Promise.all(this.pods.map((p) => p.close()));
  }
}
