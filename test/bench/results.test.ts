import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, percentileOfSorted, requestsPerSecond } from '../../bench/proxy/load-result.js';
import { aggregate } from '../../bench/proxy/results.js';

const sample = (rps: number, errors = 0) => ({ rps, p50Us: rps / 10, p99Us: rps / 5, cpuUsPerRequest: 1e6 / rps, rssBytes: rps * 1000, errors });

test('aggregate: medians over the rounds, errors summed, spread as (max - min) / median', () => {
  const a = aggregate([sample(1000, 1), sample(1200), sample(1100, 2)]);
  assert.equal(a.rps, 1100);
  assert.equal(a.p50Us, 110);
  assert.equal(a.rssBytes, 1_100_000);
  assert.equal(a.errors, 3);
  assert.equal(a.rounds, 3);
  assert.ok(Math.abs(a.rpsSpread - 200 / 1100) < 1e-12);
});

test('aggregate: no samples is an error', () => {
  assert.throws(() => aggregate([]), RangeError);
});

test('median: middle value, mean of the two middle ones, NaN ignored', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([NaN, 5]), 5);
  assert.ok(Number.isNaN(median([])));
});

test('percentileOfSorted: nearest rank', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentileOfSorted(v, 50), 50);
  assert.equal(percentileOfSorted(v, 99), 99);
  assert.equal(percentileOfSorted(v, 100), 100);
  assert.equal(percentileOfSorted([7], 99), 7);
  assert.ok(Number.isNaN(percentileOfSorted([], 50)));
});

test('requestsPerSecond: requests over duration; 0 for no duration', () => {
  assert.equal(requestsPerSecond({ requests: 500, durationS: 2, p50Us: 0, p99Us: 0, errors: 0 }), 250);
  assert.equal(requestsPerSecond({ requests: 500, durationS: 0, p50Us: 0, p99Us: 0, errors: 0 }), 0);
});
