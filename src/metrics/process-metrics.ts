/**
 * One scrape for the whole process: the figures every routing thread reports (thread-metrics.ts),
 * combined by prom-client's AggregatorRegistry.aggregate (counters and histograms summed, shared
 * in-flight counts taken once, per-worker states as their max or min), plus what only the thread
 * that runs discovery knows, in a registry of its own: discovery's state, set version and last
 * error, the generation and the keys each membership change moved, configuration reloads, and the
 * hot keys merged over the threads.
 */
import { AggregatorRegistry, Gauge, Counter, Registry } from 'prom-client';
import type { PrometheusContentType } from 'prom-client';
import type { Readiness } from '../admin/readiness.js';
import type { ReloadEvents } from '../config/reload-events.js';
import { HOT_KEY_SERIES, hotKeyLabel, mergeHotKeys } from './hot-keys.js';
import type { HotKeysReport } from './hot-keys.js';
import type { MembershipMoves } from './membership-moves.js';
import type { ThreadSnapshot } from './thread-metrics.js';

/** Longest discovery error kept as a label value. */
const MAX_ERROR_LABEL = 200;
const STATES = ['waiting', 'synced', 'stale'] as const;

export interface ProcessMetricsParts {
  readonly readiness: Readiness;
  readonly reloads: ReloadEvents;
  readonly moves: MembershipMoves;
}

export class ProcessMetrics {
  readonly registry = new Registry();
  readonly #hotKeyRate: Gauge<'key' | 'endpoint'>;

  constructor(parts: ProcessMetricsParts) {
    const registers = [this.registry];
    const { readiness, reloads, moves } = parts;
    new Gauge({
      name: 'shardgate_discovery_state',
      help: 'Where endpoint discovery stands, 1 for the current state: waiting (no set yet), synced, stale (the last set keeps serving while the source cannot be read)',
      labelNames: ['state'],
      registers,
      collect(this: Gauge<'state'>) {
        const state = readiness.report(false).discovery.state;
        for (const s of STATES) this.set({ state: s }, s === state ? 1 : 0);
      },
    });
    new Gauge({
      name: 'shardgate_discovery_last_error_info',
      help: "Discovery's current problem, as the error label (cut to 200 characters), while there is one; absent when there is none",
      labelNames: ['error'],
      registers,
      collect(this: Gauge<'error'>) {
        this.reset();
        const error = readiness.report(false).discovery.error;
        if (error !== null) this.set({ error: error.slice(0, MAX_ERROR_LABEL) }, 1);
      },
    });
    new Gauge({
      name: 'shardgate_discovery_set_version',
      help: "The version discovery gave the endpoint set being served; -1 before the first",
      registers,
      collect(this: Gauge) {
        this.set(readiness.report(false).endpoints?.version ?? -1);
      },
    });
    new Gauge({
      name: 'shardgate_membership_generation',
      help: 'Endpoint sets applied since the start (the directory numbers them alike)',
      registers,
      collect(this: Gauge) {
        this.set(moves.generation);
      },
    });
    new Counter({
      name: 'shardgate_membership_changes_total',
      help: 'Endpoint sets applied after the first',
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(moves.changes);
      },
    });
    new Gauge({
      name: 'shardgate_membership_keys_moved_ratio',
      help: 'Fraction of the key space whose owner the last membership change moved (exact for ring hash, sampled otherwise)',
      registers,
      collect(this: Gauge) {
        this.set(moves.lastMoved);
      },
    });
    new Counter({
      name: 'shardgate_membership_keys_moved_ratio_total',
      help: 'Sum over membership changes of the fraction of the key space each moved',
      registers,
      collect(this: Counter) {
        this.reset();
        this.inc(moves.movedTotal);
      },
    });
    new Counter({
      name: 'shardgate_config_reloads_total',
      help: 'Configuration reloads (file change or SIGHUP), by result: ok (applied) or failed (refused; the previous configuration kept serving)',
      labelNames: ['result'],
      registers,
      collect(this: Counter<'result'>) {
        this.reset();
        this.inc({ result: 'ok' }, reloads.ok);
        this.inc({ result: 'failed' }, reloads.failed);
      },
    });
    let lastSuccessS = 0;
    reloads.on((o) => {
      if (o.ok) lastSuccessS = o.atMs / 1000;
    });
    new Gauge({
      name: 'shardgate_config_last_reload_success_timestamp_seconds',
      help: 'When the configuration was last reloaded with success, in seconds since the epoch; 0 before the first',
      registers,
      collect(this: Gauge) {
        this.set(lastSuccessS);
      },
    });
    this.#hotKeyRate = new Gauge({
      name: 'shardgate_hot_key_rate',
      help: `Requests per second (exponentially decayed) of the ${HOT_KEY_SERIES} hottest routing keys, with the endpoint that served the last one; keys over 64 characters are cut to 48 and tagged with 8 hex digits of their hash`,
      labelNames: ['key', 'endpoint'],
      registers,
    });
  }

  /** The hot keys over every thread. */
  hotKeys(snapshots: readonly ThreadSnapshot[], n?: number): HotKeysReport {
    return mergeHotKeys(snapshots.map((s) => s.hotKeys), n);
  }

  /** The Prometheus text of one scrape, and its content type. */
  async scrape(snapshots: readonly ThreadSnapshot[]): Promise<{ readonly text: string; readonly contentType: string }> {
    const hot = mergeHotKeys(snapshots.map((s) => s.hotKeys), HOT_KEY_SERIES);
    const parts = snapshots.flatMap((s) => s.hotKeys.keys);
    this.#hotKeyRate.reset();
    for (const k of hot.keys) {
      const lo = parts.find((p) => p.key === k.key)?.lo ?? 0;
      this.#hotKeyRate.set({ key: hotKeyLabel(k.key, lo), endpoint: k.endpoint ?? '' }, k.rate);
    }
    const threads = AggregatorRegistry.aggregate<PrometheusContentType>(snapshots.map((s) => s.metrics));
    const merged = Registry.merge([threads, this.registry]);
    return { text: await merged.metrics(), contentType: merged.contentType };
  }
}
