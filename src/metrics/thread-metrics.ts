/**
 * The metrics of one thread that routes requests (`shardgate serve`'s, or each worker's with
 * `--workers N`), in a prom-client Registry of its own.
 *
 * Two kinds of figures. What the data plane counts already (in flight and limits from the load
 * board, picks, retries and budget refusals from the Retrier, ejections from the outlier
 * detector, spills from the hashing balancer, the proxy's queue) is read at scrape time by
 * collect() callbacks: the request path does no work for them. What only a finished request knows
 * (its status and method class, its latencies, whether it had a key) is counted by `record()`, on
 * the request path, into per-endpoint typed arrays made when the endpoint joins the set: one Map
 * lookup per request, no label objects, no allocation; the callbacks turn them into series at
 * scrape time. Endpoints that leave the set leave the metrics (cardinality is the set's size).
 *
 * Aggregation across worker threads (AggregatorRegistry.aggregate, src/metrics/process-metrics.ts)
 * sums every metric except those marked otherwise: in-flight counts are the process's own (the
 * shared counts), so any worker's reading is the whole ('first'); ejections and membership are per
 * worker (each ejects on its own) and are reported as their 'max'.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { EndpointSet } from '../balancer/endpoint.js';
import { loadBound } from '../balancer/bounded-load.js';
import { HashingBalancer } from '../balancer/hashing-balancer.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import type { ClientResponse } from '../proxy/client-response.js';
import type { Exchange } from '../proxy/exchange.js';
import { CLASS_PAIRS, CODE_CLASSES, METHOD_CLASSES, classPair } from './request-classes.js';
import { EndpointHistogram } from './endpoint-histogram.js';
import type { HistogramSeries } from './endpoint-histogram.js';
import { HotKeySketch } from './hot-key-sketch.js';
import type { HotKeySketchOptions } from './hot-key-sketch.js';
import type { HotKeysPart } from './hot-keys.js';

/** What one thread reports to whoever answers a scrape. Plain data: it crosses threads by structured clone. */
export interface ThreadSnapshot {
  readonly metrics: MetricObjectWithValues<MetricValue<string>>[];
  readonly hotKeys: HotKeysPart;
}

/** The label of requests answered without an endpoint (refused before a pick, or none could be made). */
export const NO_ENDPOINT = '';

/** One endpoint's request-path counts. */
class EndpointSeries {
  /** Requests by method class x code class (request-classes.ts). */
  readonly classes = new Float64Array(CLASS_PAIRS);
  keyed = 0;
  readonly latency: HistogramSeries;
  readonly upstream: HistogramSeries;

  constructor(latency: HistogramSeries, upstream: HistogramSeries) {
    this.latency = latency;
    this.upstream = upstream;
  }
}

export interface ThreadMetricsOptions {
  readonly hotKeys?: HotKeySketchOptions;
}

export class ThreadMetrics {
  readonly registry = new Registry();
  /** The plane routed with; a configuration reload swaps another in (rebind). */
  #plane: DataPlane;
  readonly hotKeys: HotKeySketch;
  /** Reads the proxy's queue length; set once the proxy exists. */
  queued: () => number = () => 0;
  readonly #series = new Map<string, EndpointSeries>();
  readonly #latency: EndpointHistogram;
  readonly #upstream: EndpointHistogram;
  #stopSets: () => void;

  constructor(plane: DataPlane, options: ThreadMetricsOptions = {}) {
    this.#plane = plane;
    this.hotKeys = new HotKeySketch(plane.clock, options.hotKeys);
    const registry = this.registry;
    this.#latency = new EndpointHistogram('shardgate_response_latency_seconds', 'Time from a request arriving to its response ending, by the endpoint of its last attempt (Linkerd response_latency)', registry);
    this.#upstream = new EndpointHistogram('shardgate_upstream_rq_time_seconds', "Time the last attempt spent at its endpoint, from dispatch to the response's end (Envoy upstream_rq_time)", registry);
    this.#add(NO_ENDPOINT);
    this.#stopSets = plane.onSet((set) => this.#follow(set));
    if (plane.current !== null) this.#follow(plane.current);
    this.#register();
  }

  /** Counts a finished request (RequestObserver). Allocation-free. */
  record(res: ClientResponse, exchange: Exchange | null, nowMs: number): void {
    const endpoint = exchange === null ? NO_ENDPOINT : exchange.endpoint;
    const s = this.#series.get(endpoint) ?? this.#series.get(NO_ENDPOINT)!;
    const status = res.headersSent ? res.statusCode : 0;
    s.classes[classPair(res.req.method, status)]!++;
    s.latency.observe((nowMs - res.startedMs) / 1000);
    if (exchange === null) return;
    s.upstream.observe(exchange.upstreamMs / 1000);
    const key = exchange.key;
    if (key !== null) {
      s.keyed++;
      this.hotKeys.offer(key, endpoint);
    }
  }

  /** Every metric of this thread, collected now, and its hot keys. */
  async snapshot(): Promise<ThreadSnapshot> {
    const metrics = await this.registry.getMetricsAsJSON();
    return { metrics, hotKeys: { windowS: this.hotKeys.windowS, total: this.hotKeys.total(), keys: this.hotKeys.top() } };
  }

  get plane(): DataPlane {
    return this.#plane;
  }

  /**
   * Reads `plane` from now on: a configuration reload swapped it into the proxy. What this thread
   * counts itself (requests, latencies, hot keys) goes on; what is read from the plane (picks,
   * retries, ejections) is the new plane's, whose counts start at 0, as a restart's would: rate()
   * reads the drop as a counter reset.
   */
  rebind(plane: DataPlane): void {
    this.#stopSets();
    this.#plane = plane;
    this.#stopSets = plane.onSet((set) => this.#follow(set));
    if (plane.current !== null) this.#follow(plane.current);
  }

  close(): void {
    this.#stopSets();
  }

  #add(name: string): void {
    if (!this.#series.has(name)) this.#series.set(name, new EndpointSeries(this.#latency.series(name), this.#upstream.series(name)));
  }

  #follow(set: EndpointSet): void {
    const names = new Set(set.endpoints.map((e) => e.name));
    names.add(NO_ENDPOINT);
    for (const name of [...this.#series.keys()]) {
      if (names.has(name)) continue;
      this.#series.delete(name);
      this.#latency.drop(name);
      this.#upstream.drop(name);
    }
    for (const name of names) this.#add(name);
  }

  #register(): void {
    const registers = [this.registry];
    const series = this.#series;
    const plane = this.plane;
    const board = plane.board;
    new Counter({
      name: 'shardgate_upstream_rq_total',
      help: 'Requests answered, by the endpoint of their last attempt ("" when the proxy answered without one), method class (read, write, other) and response status class (none: no response was sent)',
      labelNames: ['endpoint', 'method', 'code_class'],
      registers,
      collect(this: Counter<'endpoint' | 'method' | 'code_class'>) {
        this.reset();
        for (const [endpoint, s] of series) {
          for (let m = 0; m < METHOD_CLASSES.length; m++) {
            for (let c = 0; c < CODE_CLASSES.length; c++) {
              const v = s.classes[m * CODE_CLASSES.length + c]!;
              if (v > 0) this.inc({ endpoint, method: METHOD_CLASSES[m]!, code_class: CODE_CLASSES[c]! }, v);
            }
          }
        }
      },
    });
    new Counter({
      name: 'shardgate_keyed_rq_total',
      help: 'Requests with a routing key, by the endpoint of their last attempt: each endpoint\'s share of keyed traffic',
      labelNames: ['endpoint'],
      registers,
      collect(this: Counter<'endpoint'>) {
        this.reset();
        for (const [endpoint, s] of series) if (endpoint !== NO_ENDPOINT) this.inc({ endpoint }, s.keyed);
      },
    });
    new Counter({
      name: 'shardgate_loadbalanced_total',
      help: 'Times each endpoint was picked, retries included (HAProxy loadbalanced)',
      labelNames: ['endpoint'],
      registers,
      collect(this: Counter<'endpoint'>) {
        this.reset();
        for (const l of board.loads) this.inc({ endpoint: l.endpoint.name }, l.picks);
      },
    });
    new Gauge({
      name: 'shardgate_upstream_rq_active',
      help: 'Requests in flight at each endpoint, for the whole process (Envoy upstream_rq_active)',
      labelNames: ['endpoint'],
      registers,
      aggregator: 'first',
      collect(this: Gauge<'endpoint'>) {
        this.reset();
        for (const l of board.loads) this.set({ endpoint: l.endpoint.name }, l.inflight);
      },
    });
    new Gauge({
      name: 'shardgate_upstream_rq_limit',
      help: 'Most requests in flight each endpoint may have (--max-inflight); 0: no limit',
      labelNames: ['endpoint'],
      registers,
      aggregator: 'first',
      collect(this: Gauge<'endpoint'>) {
        this.reset();
        const max = board.maxInflight;
        for (const l of board.loads) this.set({ endpoint: l.endpoint.name }, max === 0 ? 0 : l.limit);
      },
    });
    const balancer = plane.balancer;
    const hashing = balancer instanceof HashingBalancer ? balancer : null;
    if (hashing !== null && hashing.loadFactor !== null) {
      const factor = hashing.loadFactor;
      new Gauge({
        name: 'shardgate_bounded_load_limit',
        help: "The bounded-load cap of each available endpoint now: the most in flight it may reach before keys spill to their next owners (ceil(c x average))",
        labelNames: ['endpoint'],
        registers,
        aggregator: 'first',
        collect(this: Gauge<'endpoint'>) {
          this.reset();
          for (const l of board.loads) if (l.available) this.set({ endpoint: l.endpoint.name }, loadBound(factor, board.totalInflight, l.endpoint.weight, board.availableWeight));
        },
      });
    }
    const queued = (): number => this.queued();
    new Gauge({
      name: 'shardgate_current_queue',
      help: 'Requests waiting for room because every endpoint that may serve them is at its in-flight limit (HAProxy current_queue; one queue per proxy thread, not per endpoint: a waiting request takes whichever of its candidates frees first)',
      registers,
      collect(this: Gauge) {
        this.set(queued());
      },
    });
    const retries = plane.retries;
    new Counter({
      name: 'shardgate_upstream_rq_retry_total',
      help: 'Requests retried on another endpoint (Envoy upstream_rq_retry)',
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(retries?.retriedCount ?? 0);
      },
    });
    new Counter({
      name: 'shardgate_upstream_rq_retry_overflow_total',
      help: 'Retries the retry budget refused (Envoy upstream_rq_retry_overflow)',
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(retries?.budgetRefused ?? 0);
      },
    });
    const outlier = plane.outlier;
    new Gauge({
      name: 'shardgate_outlier_detection_ejections_active',
      help: 'Endpoints ejected by outlier detection now, 1 or 0 by endpoint (Envoy outlier_detection.ejections_active); with workers, ejected by any worker',
      labelNames: ['endpoint'],
      registers,
      aggregator: 'max',
      collect(this: Gauge<'endpoint'>) {
        this.reset();
        if (outlier === null) return;
        for (const l of board.loads) this.set({ endpoint: l.endpoint.name }, outlier.isEjected(l.endpoint.name) ? 1 : 0);
      },
    });
    new Counter({
      name: 'shardgate_outlier_detection_ejections_total',
      help: 'Ejections by outlier detection, by endpoint (Envoy outlier_detection.ejections_enforced_total); with workers, summed over workers',
      labelNames: ['endpoint'],
      registers,
      collect(this: Counter<'endpoint'>) {
        this.reset();
        if (outlier === null) return;
        for (const l of board.loads) this.inc({ endpoint: l.endpoint.name }, outlier.view(l.endpoint.name)?.ejections ?? 0);
      },
    });
    new Gauge({
      name: 'shardgate_membership_healthy',
      help: 'Endpoints in rotation: not draining, ejected or failing health checks (Envoy membership_healthy)',
      registers,
      aggregator: 'min',
      collect(this: Gauge) {
        this.set(board.availableCount);
      },
    });
    new Gauge({
      name: 'shardgate_membership_total',
      help: 'Endpoints in the set (Envoy membership_total)',
      registers,
      aggregator: 'max',
      collect(this: Gauge) {
        this.set(board.loads.length);
      },
    });
    new Counter({
      name: 'shardgate_bounded_load_spills_total',
      help: "Keyed requests that went past their key's owner because it was at its in-flight limit or bounded-load cap (the key's next owners served them)",
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(hashing?.stats.spills ?? 0);
      },
    });
    new Counter({
      name: 'shardgate_keyed_fallthroughs_total',
      help: "Keyed requests whose owner was out of rotation (draining, ejected, failing health checks) or missing, served by the key's next owner",
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(hashing?.stats.fallthroughs ?? 0);
      },
    });
  }
}
