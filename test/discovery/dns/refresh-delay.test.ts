import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRefreshBounds, delayAfterAnswerMs, delayAfterFailureMs } from '../../../src/discovery/dns/refresh-delay.js';
import { ConfigError } from '../../../src/errors.js';

const BOUNDS = { minMs: 1_000, maxMs: 30_000 };

test('refresh delay: the TTL, bounded below and above', () => {
  assert.equal(delayAfterAnswerMs(5, BOUNDS), 5_000);
  assert.equal(delayAfterAnswerMs(0, BOUNDS), 1_000, 'a TTL of 0 must not become a query loop');
  assert.equal(delayAfterAnswerMs(3_600, BOUNDS), 30_000, 'a long TTL must not hide a restart');
  assert.equal(delayAfterAnswerMs(null, BOUNDS), 30_000);
});

test('refresh delay: failures back off from the minimum, doubling, up to the maximum', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 100].map((n) => delayAfterFailureMs(n, BOUNDS)),
    [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
  );
});

test('refresh delay: unusable bounds are ConfigErrors naming the bound', () => {
  assert.throws(() => checkRefreshBounds({ minMs: 0, maxMs: 10 }, 'dns'), (e: unknown) => e instanceof ConfigError && e.field === 'dns.minMs');
  assert.throws(() => checkRefreshBounds({ minMs: 1, maxMs: 1.5 }, 'dns'), (e: unknown) => e instanceof ConfigError && e.field === 'dns.maxMs');
  assert.throws(() => checkRefreshBounds({ minMs: 20, maxMs: 10 }, 'dns'), (e: unknown) => e instanceof ConfigError && e.field === 'dns.minMs' && /above dns.maxMs \(10\)/.test(e.message));
  assert.deepEqual(checkRefreshBounds({ minMs: 10, maxMs: 10 }), { minMs: 10, maxMs: 10 });
});
