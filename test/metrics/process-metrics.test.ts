import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readiness } from '../../src/admin/readiness.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { parseConfig } from '../../src/config/config.js';
import { ReloadEvents } from '../../src/config/reload-events.js';
import { MembershipMoves } from '../../src/metrics/membership-moves.js';
import { ProcessMetrics } from '../../src/metrics/process-metrics.js';
import type { ThreadSnapshot } from '../../src/metrics/thread-metrics.js';
import { parsePrometheusText } from '../helpers/prometheus-text.js';

const specs = (n: number): { name: string; address: string }[] => Array.from({ length: n }, (_, i) => ({ name: `pod-${i}`, address: `127.0.0.1:${9000 + i}` }));

function parts(algorithm: string) {
  const config = parseConfig({ endpoints: specs(4), balancer: { algorithm }, key: algorithm === 'round-robin' ? null : 'header:x-key' });
  const readiness = new Readiness('inline');
  const reloads = new ReloadEvents();
  const moves = new MembershipMoves(config);
  return { readiness, reloads, moves, metrics: new ProcessMetrics({ readiness, reloads, moves }) };
}

const NO_THREADS: readonly ThreadSnapshot[] = [];

test('process metrics: config reloads counted from ReloadEvents, ok and failed, with the time of the last success', async () => {
  const { reloads, metrics } = parts('ring-hash');
  let m = parsePrometheusText((await metrics.scrape(NO_THREADS)).text);
  assert.equal(m.value('shardgate_config_reloads_total', { result: 'ok' }), 0);
  assert.equal(m.value('shardgate_config_last_reload_success_timestamp_seconds'), 0);
  reloads.emit({ ok: true, path: '/etc/shardgate.yaml', error: null, restartNeeded: [], atMs: 1_700_000_000_500 });
  reloads.emit({ ok: false, path: '/etc/shardgate.yaml', error: 'balancer.algoritm: unknown key', restartNeeded: [], atMs: 1_700_000_001_000 });
  reloads.emit({ ok: false, path: '/etc/shardgate.yaml', error: 'again', restartNeeded: [], atMs: 1_700_000_002_000 });
  m = parsePrometheusText((await metrics.scrape(NO_THREADS)).text);
  assert.equal(m.types.get('shardgate_config_reloads_total'), 'counter');
  assert.equal(m.value('shardgate_config_reloads_total', { result: 'ok' }), 1);
  assert.equal(m.value('shardgate_config_reloads_total', { result: 'failed' }), 2);
  assert.equal(m.value('shardgate_config_last_reload_success_timestamp_seconds'), 1_700_000_000.5, 'a failed reload leaves the last success');
});

test('process metrics: each membership change records the keys it moved (ring hash exact: a quarter for 1 of 4 pods leaving), and the generation', async () => {
  const { readiness, moves, metrics } = parts('ring-hash');
  let m = parsePrometheusText((await metrics.scrape(NO_THREADS)).text);
  assert.equal(m.value('shardgate_discovery_state', { state: 'waiting' }), 1);
  assert.equal(m.value('shardgate_discovery_set_version'), -1);
  const four = createEndpointSet(specs(4), 1);
  moves.applied(four);
  readiness.accepted(four);
  const three = createEndpointSet(specs(3), 2);
  moves.applied(three);
  readiness.accepted(three);
  m = parsePrometheusText((await metrics.scrape(NO_THREADS)).text);
  assert.equal(m.value('shardgate_membership_generation'), 2);
  assert.equal(m.value('shardgate_membership_changes_total'), 1);
  assert.equal(m.value('shardgate_discovery_set_version'), 2);
  const moved = m.value('shardgate_membership_keys_moved_ratio')!;
  assert.ok(moved > 0.15 && moved < 0.35, `pod-3 leaving moved ${moved} of the key space`);
  moves.applied(four);
  m = parsePrometheusText((await metrics.scrape(NO_THREADS)).text);
  const back = m.value('shardgate_membership_keys_moved_ratio')!;
  assert.ok(Math.abs(back - moved) < 1e-9, `coming back moves the same keys (${back} against ${moved})`);
  assert.ok(Math.abs(m.value('shardgate_membership_keys_moved_ratio_total')! - 2 * moved) < 1e-9);
});

test('process metrics: sampled for maglev; a keyless balancer counts generations and changes, and moves nothing', () => {
  const maglev = parts('maglev');
  maglev.moves.applied(createEndpointSet(specs(4), 1));
  maglev.moves.applied(createEndpointSet(specs(3), 2));
  assert.ok(maglev.moves.lastMoved > 0.15 && maglev.moves.lastMoved < 0.4, `maglev moved ${maglev.moves.lastMoved}`);
  const keyless = parts('round-robin');
  keyless.moves.applied(createEndpointSet(specs(4), 1));
  keyless.moves.applied(createEndpointSet(specs(3), 2));
  assert.deepEqual([keyless.moves.generation, keyless.moves.changes, keyless.moves.lastMoved], [2, 1, 0]);
});

test('process metrics: hot keys from threads merge by key; the metric has at most 10 series, long keys cut and tagged', async () => {
  const { metrics } = parts('ring-hash');
  const long = `tenant/${'x'.repeat(100)}`;
  const thread = (counts: [string, number, number][]): ThreadSnapshot => ({
    metrics: [],
    hotKeys: { windowS: 60, total: counts.reduce((s, [, , c]) => s + c, 0), keys: counts.map(([key, lo, count]) => ({ key, hi: 1, lo, count, error: 0, endpoint: 'pod-0' })) },
  });
  const a = thread([['a', 1, 600], [long, 2, 300], ...Array.from({ length: 15 }, (_, i): [string, number, number] => [`k${i}`, 100 + i, 6])]);
  const b = thread([['a', 1, 600], ['b', 3, 540]]);
  // A counter that changed hands and holds nothing of its own key (count = error) is not shown;
  // one that holds some shows what it is sure of.
  const c: ThreadSnapshot = {
    metrics: [],
    hotKeys: { windowS: 60, total: 1_100, keys: [{ key: 'inherited', hi: 1, lo: 9, count: 700, error: 700, endpoint: 'pod-1' }, { key: 'partly', hi: 1, lo: 10, count: 400, error: 280, endpoint: 'pod-1' }] },
  };
  const report = metrics.hotKeys([a, b, c]);
  assert.equal(report.windowS, 60);
  assert.equal(report.keys.length, 19);
  assert.deepEqual(report.keys.slice(0, 4).map((k) => [k.key, k.rate]), [['a', 20], ['b', 9], [long, 5], ['partly', 2]]);
  assert.ok(!report.keys.some((k) => k.key === 'inherited'));
  const total = 600 + 300 + 90 + 600 + 540 + 1_100;
  assert.equal(report.keys[0]!.share, Math.round((1200 / total) * 1e4) / 1e4);
  assert.equal(metrics.hotKeys([a, b], 3).keys.length, 3);
  const m = parsePrometheusText((await metrics.scrape([a, b])).text);
  const series = m.select('shardgate_hot_key_rate');
  assert.equal(series.length, 10);
  const cut = series.find((s) => s.labels['key']!.startsWith('tenant/'))!;
  assert.equal(cut.labels['key'], `${long.slice(0, 48)}~00000002`);
  assert.equal(cut.value, 5);
});
