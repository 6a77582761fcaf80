import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readClientSettings } from '../../../bench/client/settings.js';

test('bench:client settings: defaults, and each knob read by name', () => {
  assert.deepEqual(readClientSettings({}), { durationS: 2, rounds: 8, concurrency: 32 });
  assert.deepEqual(readClientSettings({ BENCH_DURATION: '5', BENCH_ROUNDS: '3', BENCH_CONCURRENCY: '64' }), { durationS: 5, rounds: 3, concurrency: 64 });
  assert.throws(() => readClientSettings({ BENCH_CONCURRENCY: '0' }), /BENCH_CONCURRENCY is "0"/);
});
