import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCENARIO_NAMES } from '../../../bench/faults/scenario-names.js';
import { readFaultSettings } from '../../../bench/faults/settings.js';

test('readFaultSettings: defaults are every scenario against both proxies, 4 s of load at 32 in flight, the sizes the issue names', () => {
  const s = readFaultSettings({});
  assert.deepEqual(s.scenarios, SCENARIO_NAMES);
  assert.deepEqual(s.targets, ['shardgate', 'haproxy']);
  assert.equal(s.durationS, 4);
  assert.equal(s.concurrency, 32);
  assert.equal(s.reloads, 100);
  assert.equal(s.slowlorisConnections, 2000);
  assert.equal(s.stalledBodies, 200);
  assert.equal(s.stallWaitS, 45);
  assert.equal(s.uploadBytes, 150e6);
  assert.equal(s.downloadBytes, 100e6);
});

test('readFaultSettings: a subset of scenarios in the table order, one proxy, longer load', () => {
  const s = readFaultSettings({ BENCH_FAULTS_ONLY: 'upload,pod-killed', BENCH_FAULTS_TARGETS: 'haproxy', BENCH_FAULTS_DURATION: '20', BENCH_FAULTS_UPLOAD_MB: '10' });
  assert.deepEqual(s.scenarios, ['pod-killed', 'upload']);
  assert.deepEqual(s.targets, ['haproxy']);
  assert.equal(s.durationS, 20);
  assert.equal(s.uploadBytes, 10e6);
});

test('readFaultSettings: an unknown scenario or a bad number is an error naming the variable', () => {
  assert.throws(() => readFaultSettings({ BENCH_FAULTS_ONLY: 'pod-killed,pod-on-fire' }), /BENCH_FAULTS_ONLY names pod-on-fire: choose from no-fault, pod-killed/);
  assert.throws(() => readFaultSettings({ BENCH_FAULTS_CONCURRENCY: '0' }), /BENCH_FAULTS_CONCURRENCY is "0": give an integer >= 1/);
});
