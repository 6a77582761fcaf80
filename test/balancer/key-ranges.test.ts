import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import type { KeyedConfig, OnMissing } from '../../src/balancer/factory.js';
import { DEFAULT_KEYLESS } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import type { KeyRange } from '../../src/balancer/key-ranges.js';
import { KeyRanges } from '../../src/balancer/key-ranges.js';
import { ConfigError } from '../../src/errors.js';
import { assertAddressFree, assertOrderFree, contract, excluding, expectNone, expectOk, harness, keyed, specs } from './helpers.js';

const RANGES: readonly KeyRange[] = [
  { from: 1_000, to: 1_999, endpoint: 'svc-1' },
  { from: 0, to: 999, endpoint: 'svc-0' },
  { from: 2_000, to: 2_999, endpoint: 'svc-2' },
  // A gap: 3000-4999 has no owner.
  { from: 5_000, to: 9_007_199_254_740_991, endpoint: 'svc-3' },
];

function ranges(onMissing: OnMissing = 'fail', list: readonly KeyRange[] = RANGES): KeyedConfig {
  return { algorithm: 'ranges', loadFactor: null, keyless: DEFAULT_KEYLESS, ranges: list, onMissing };
}

const NUMERIC = Array.from({ length: 3_000 }, (_, i) => hashKey(String(i * 3 + (i % 2) * 5_000)));
const ENDPOINTS: readonly EndpointSpec[] = specs(4);

contract({ label: 'ranges (fail)', config: ranges('fail'), endpoints: ENDPOINTS, allDraining: 'owner-missing', allExcluded: 'owner-missing', keys: NUMERIC.slice(0, 500) });
contract({ label: 'ranges (next)', config: ranges('next'), endpoints: ENDPOINTS, allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: NUMERIC.slice(0, 500) });

test('ranges: lookup, both boundaries inclusive', () => {
  const b = keyed(ranges(), ENDPOINTS);
  const owner = (k: string): string | null => b.owner(hashKey(k))?.name ?? null;
  assert.equal(owner('0'), 'svc-0');
  assert.equal(owner('999'), 'svc-0');
  assert.equal(owner('1000'), 'svc-1');
  assert.equal(owner('1500'), 'svc-1');
  assert.equal(owner('1999'), 'svc-1');
  assert.equal(owner('2000'), 'svc-2');
  assert.equal(owner('2999'), 'svc-2');
  assert.equal(owner('5000'), 'svc-3');
  assert.equal(owner('0000001000'), 'svc-1', 'leading zeros are the same number');
  assert.equal(owner('9007199254740991'), 'svc-3', 'a 16-digit key at the top of the safe range');
  assert.equal(owner('1000000000000000'), 'svc-3');
  const h = harness(ranges(), ENDPOINTS);
  const p = expectOk(h.balancer.pick(hashKey('1999'), null));
  assert.equal(p.endpoint.name, 'svc-1');
  p.done(0, 'ok');
});

test('ranges: gaps, keys past the ends and non-numeric keys get no-range', () => {
  const h = harness(ranges('next'), ENDPOINTS);
  for (const k of ['3000', '4999', '3500', 'abc', '', '-1', '12.5', '9007199254740992', '123456789012345678901']) {
    expectNone(h.balancer.pick(hashKey(k), null), 'no-range');
  }
  const above = harness(ranges('fail', [{ from: 10, to: 20, endpoint: 'svc-0' }]), ENDPOINTS);
  expectNone(above.balancer.pick(hashKey('21'), null), 'no-range');
  expectNone(above.balancer.pick(hashKey('9'), null), 'no-range');
  assert.equal(keyed(ranges(), ENDPOINTS).owner(hashKey('4000')), null);
});

test('ranges: a missing or draining owner fails, or moves to the next range\'s endpoint', () => {
  const without = ENDPOINTS.filter((e) => e.name !== 'svc-1');
  const fail = harness(ranges('fail'), without);
  expectNone(fail.balancer.pick(hashKey('1500'), null), 'owner-missing');
  const next = harness(ranges('next'), without);
  const p = expectOk(next.balancer.pick(hashKey('1500'), null));
  assert.equal(p.endpoint.name, 'svc-2');
  p.done(0, 'ok');
  // The last range wraps to the first.
  const noLast = harness(ranges('next'), ENDPOINTS.filter((e) => e.name !== 'svc-3'));
  const q = expectOk(noLast.balancer.pick(hashKey('6000'), null));
  assert.equal(q.endpoint.name, 'svc-0');
  q.done(0, 'ok');
  // Draining and excluded owners behave like missing ones.
  const draining = harness(ranges('fail'), ENDPOINTS.map((e) => ({ ...e, draining: e.name === 'svc-0' })));
  expectNone(draining.balancer.pick(hashKey('5'), null), 'owner-missing');
  const retry = harness(ranges('next'), ENDPOINTS);
  const r = expectOk(retry.balancer.pick(hashKey('5'), excluding(retry.board.set, ['svc-0'])));
  assert.equal(r.endpoint.name, 'svc-1');
  r.done(0, 'ok');
  // Every owner missing.
  expectNone(harness(ranges('next'), [{ name: 'other', address: 'x:1' }]).balancer.pick(hashKey('5'), null), 'owner-missing');
});

test('ranges: validation names the range and what is wrong', () => {
  const bad = (list: readonly KeyRange[], field: string, text: RegExp): void => {
    assert.throws(() => new KeyRanges(list, 'fail'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.field, field);
      assert.equal(e.code, 'SG_ERR_BALANCER');
      assert.match(e.message, text);
      return true;
    });
  };
  bad([], 'balancer.ranges', /is empty/);
  bad([{ from: 0, to: 10, endpoint: 'a' }, { from: 20, to: 10, endpoint: 'b' }], 'balancer.ranges[1]', /20-10/);
  bad([{ from: -5, to: 10, endpoint: 'a' }], 'balancer.ranges[0]', /0 <= from <= to/);
  bad([{ from: 0.5, to: 10, endpoint: 'a' }], 'balancer.ranges[0]', /integers/);
  bad([{ from: 0, to: 2 ** 53, endpoint: 'a' }], 'balancer.ranges[0]', /integers/);
  bad([{ from: 0, to: 10, endpoint: '' }], 'balancer.ranges[0].endpoint', /name the endpoint/);
  // Overlaps name the later range by its position in the config, and both spans.
  bad([{ from: 100, to: 200, endpoint: 'b' }, { from: 0, to: 100, endpoint: 'a' }], 'balancer.ranges[0]', /\(100-200\) overlaps 0-100/);
  bad([{ from: 0, to: 50, endpoint: 'a' }, { from: 60, to: 70, endpoint: 'b' }, { from: 40, to: 45, endpoint: 'c' }], 'balancer.ranges[2]', /overlaps 0-50/);
  assert.throws(() => new KeyRanges([], 'fail', 'routes.cart.ranges'), (e: unknown) => e instanceof ConfigError && e.field === 'routes.cart.ranges');
  // Touching ranges are fine; the input list is not reordered in place.
  const list = [{ from: 11, to: 20, endpoint: 'b' }, { from: 0, to: 10, endpoint: 'a' }];
  const r = new KeyRanges(list, 'fail');
  assert.deepEqual(r.ranges.map((x) => x.from), [0, 11]);
  assert.equal(list[0]!.from, 11);
});

test('ranges: input order and addresses do not matter', () => {
  assertOrderFree(ranges('next'), ENDPOINTS, NUMERIC);
  assertAddressFree(ranges('next'), ENDPOINTS, NUMERIC);
});
