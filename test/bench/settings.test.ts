import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSettings } from '../../bench/proxy/settings.js';

test('readSettings: defaults are 10 s, 2 rounds, every target and load, 10,000 idle connections, the hot key', () => {
  const s = readSettings({});
  assert.equal(s.durationS, 10);
  assert.equal(s.rounds, 2);
  assert.deepEqual(s.targets, ['haproxy', 'nginx', 'shardgate', 'shardgate-prev', 'http-proxy-3', 'reply-from', 'haproxy-2t', 'shardgate-w2']);
  assert.deepEqual(s.loads, ['h1-1', 'h1-64', 'h2-64']);
  assert.equal(s.idleConnections, 10_000);
  assert.equal(s.hotKey, true);
});

test('readSettings: a quick run, subsets kept in the canonical order', () => {
  const s = readSettings({ BENCH_DURATION: '3', BENCH_ROUNDS: '1', BENCH_ONLY: 'shardgate, haproxy', BENCH_LOADS: 'h2-64,h1-64', BENCH_IDLE_CONNECTIONS: '0', BENCH_HOT_KEY: '0' });
  assert.equal(s.durationS, 3);
  assert.equal(s.rounds, 1);
  assert.deepEqual(s.targets, ['haproxy', 'shardgate']);
  assert.deepEqual(s.loads, ['h1-64', 'h2-64']);
  assert.equal(s.idleConnections, 0);
  assert.equal(s.hotKey, false);
});

test('readSettings: an unknown target is an error listing the known ones', () => {
  assert.throws(() => readSettings({ BENCH_ONLY: 'haproxy,envoy' }), /BENCH_ONLY names envoy: choose from haproxy, nginx, shardgate/);
});

test('readSettings: a duration that is not a positive integer is an error naming the variable', () => {
  assert.throws(() => readSettings({ BENCH_DURATION: '0' }), /BENCH_DURATION is "0": give an integer >= 1/);
  assert.throws(() => readSettings({ BENCH_ROUNDS: '1.5' }), /BENCH_ROUNDS/);
});
