/**
 * A latency histogram by endpoint whose request path is allocation-free: each endpoint's series
 * is a Float64Array of bucket counts with its sum, made when the endpoint joins and found by one
 * Map lookup (prom-client's own `observe` hashes its labels into a string on every call). The
 * Prometheus form (cumulative `_bucket{le}`, `_sum`, `_count`) is built at scrape time, in `get()`,
 * so that the registry, the text format and worker aggregation (which sums histograms) are
 * prom-client's own.
 */
import { Histogram } from 'prom-client';
import type { MetricObjectWithValues, MetricValueWithName, Registry } from 'prom-client';

/** Seconds: 1 ms to 10 s, about 2.5 per step (Prometheus' client defaults, finer at the low end). */
export const LATENCY_BUCKETS_S: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** One endpoint's series: counts per bucket (the last one past every bound), sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

type Label = 'endpoint' | 'le';

export class EndpointHistogram extends Histogram<Label> {
  readonly #name: string;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, registry: Registry, bounds: readonly number[] = LATENCY_BUCKETS_S) {
    super({ name, help, labelNames: ['endpoint'], buckets: [...bounds], registers: [registry] });
    this.#name = name;
    this.#bounds = bounds;
  }

  /** The series of `endpoint`, made on first use; keep it (no lookup per request then). */
  series(endpoint: string): HistogramSeries {
    let s = this.#series.get(endpoint);
    if (s === undefined) {
      s = new HistogramSeries(this.#bounds);
      this.#series.set(endpoint, s);
    }
    return s;
  }

  /** Drops the series of an endpoint that left the set: the label set stays bounded by the set. */
  drop(endpoint: string): void {
    this.#series.delete(endpoint);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<Label>>> {
    const base = await super.get();
    const name = this.#name;
    const values: MetricValueWithName<Label>[] = [];
    for (const [endpoint, s] of this.#series) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { endpoint, le: this.#bounds[i]! }, value: cumulative });
      }
      values.push({ metricName: `${name}_bucket`, labels: { endpoint, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${name}_sum`, labels: { endpoint }, value: s.sum });
      values.push({ metricName: `${name}_count`, labels: { endpoint }, value: s.count });
    }
    return { ...base, values };
  }
}
