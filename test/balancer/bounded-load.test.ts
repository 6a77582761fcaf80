import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Pick } from '../../src/balancer/balancer.js';
import { loadBound, validateLoadFactor } from '../../src/balancer/bounded-load.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { DEFAULT_KEYLESS, defaultBalancerConfig } from '../../src/balancer/factory.js';
import type { RoutingKey } from '../../src/balancer/hash.js';
import { seededRng } from '../../src/balancer/rng.js';
import { ConfigError } from '../../src/errors.js';
import { SkewedKeys, asHashing, assertIdle, expectOk, harness, makeKeys, setOf, specs, uniform, weighted } from './helpers.js';

const C = 1.25;

interface Case {
  readonly label: string;
  readonly config: KeyedConfig;
  readonly endpoints: readonly EndpointSpec[];
}

const WEIGHTED = weighted([1, 2, 1, 3, 1, 1, 2, 1]);
const EIGHT = specs(8);
const CASES: readonly Case[] = [
  { label: 'ring-hash', config: defaultBalancerConfig('ring-hash', C) as KeyedConfig, endpoints: WEIGHTED },
  { label: 'maglev', config: defaultBalancerConfig('maglev', C) as KeyedConfig, endpoints: WEIGHTED },
  { label: 'rendezvous', config: defaultBalancerConfig('rendezvous', C) as KeyedConfig, endpoints: WEIGHTED },
  { label: 'jump', config: defaultBalancerConfig('jump', C) as KeyedConfig, endpoints: EIGHT },
  { label: 'ordinal (fail)', config: { algorithm: 'ordinal', loadFactor: C, keyless: DEFAULT_KEYLESS, replicas: null, onMissing: 'fail' }, endpoints: EIGHT },
  { label: 'ordinal (next)', config: { algorithm: 'ordinal', loadFactor: C, keyless: DEFAULT_KEYLESS, replicas: 8, onMissing: 'next' }, endpoints: EIGHT },
];

test('loadBound: ceil(c x (T + 1) x w / W), never below 1, exact on integral products', () => {
  assert.equal(loadBound(1.25, 7, 1, 2), 5);
  assert.equal(loadBound(1.25, 0, 1, 10), 1);
  assert.equal(loadBound(2, 9, 1, 4), 5);
  assert.equal(loadBound(1.5, 99, 3, 10), 45);
  assert.equal(loadBound(1.25, 99, 1, 8), 16);
  fc.assert(
    fc.property(fc.integer({ min: 101, max: 1_000 }), fc.nat({ max: 100_000 }), fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 50, size: 'max' }), (c100, total, weights) => {
      const c = c100 / 100;
      const W = weights.reduce((a, b) => a + b, 0);
      let sum = 0;
      for (const w of weights) {
        const b = loadBound(c, total, w, W);
        assert.ok(Number.isInteger(b) && b >= 1);
        assert.ok(b >= (c * (total + 1) * w) / W - 1e-6, 'at least c x fair share');
        assert.ok(b < (c * (total + 1) * w) / W + 1, 'the ceiling, not more');
        sum += b;
      }
      // Why a pick always finds room: the bounds add up to more than the requests, the new one included.
      assert.ok(sum >= c * (total + 1) - 1e-6 && sum > total);
    }),
    { seed: 2016, numRuns: 2_000 },
  );
});

test('validateLoadFactor: above 1 and at most 100, or a ConfigError naming the field', () => {
  assert.equal(validateLoadFactor(1.25, 'x'), 1.25);
  assert.equal(validateLoadFactor(100, 'x'), 100);
  for (const c of [1, 0.5, 0, -2, 100.5, Number.NaN, Infinity]) {
    assert.throws(() => validateLoadFactor(c, 'balancer.loadFactor'), (e: unknown) => e instanceof ConfigError && e.field === 'balancer.loadFactor' && e.message.includes(String(c)), String(c));
  }
});

for (const c of CASES) {
  test(`bounded loads, ${c.label}: a skewed simulation never puts an endpoint above ceil(c x average)`, () => {
    const h = harness(c.config, c.endpoints, 31);
    const b = asHashing(h.balancer);
    const rng = seededRng(2024);
    const keys = new SkewedKeys(2_000, 1.1, 0.3, rng);
    const open: Pick[] = [];
    const target = 48;
    let spills = 0;
    let picks = 0;
    for (let step = 0; step < 30_000; step++) {
      if (step === 15_000) {
        // Half way, one endpoint starts draining: the bound is then over the others.
        h.balancer.update(setOf(c.endpoints.map((e) => ({ ...e, draining: e.name.endsWith('-5') })), 2));
      }
      const arrive = open.length === 0 || (open.length < 3 * target && uniform(rng) < 0.5 + (target - open.length) / (4 * target));
      if (arrive) {
        const key = keys.next();
        const before = h.board.totalInflight;
        const W = h.board.availableWeight;
        const r = h.balancer.pick(key, null);
        if (r.kind === 'none') {
          // onMissing 'fail': a draining owner refuses rather than moving the key.
          assert.equal(r.reason, 'owner-missing');
          assert.equal(c.config.algorithm === 'ordinal' && c.config.onMissing, 'fail');
          assert.ok(b.owner(key)!.draining);
          continue;
        }
        const p = r;
        const load = h.board.loads[p.endpoint.index]!;
        const bound = loadBound(C, before, p.endpoint.weight, W);
        assert.ok(load.inflight <= bound, `step ${step}: ${p.endpoint.name} holds ${load.inflight}, bound ${bound} (T = ${before}, W = ${W})`);
        assert.ok(!p.endpoint.draining);
        if (p.endpoint !== b.owner(key)) spills++;
        picks++;
        open.push(p);
      } else {
        const at = rng.nextUint32() % open.length;
        const p = open[at]!;
        open[at] = open[open.length - 1]!;
        open.pop();
        p.done(h.clock.nowMs(), 'ok');
      }
    }
    for (const p of open) p.done(h.clock.nowMs(), 'ok');
    assertIdle(h.board, c.label);
    assert.ok(spills > 0, 'the hot key spilled');
    // Spills when the owner was full, fallthroughs when it was draining: together the off-owner picks.
    assert.equal(b.stats.spills + b.stats.fallthroughs, spills, `stats ${JSON.stringify(b.stats)}, counted ${spills} of ${picks}`);
    assert.ok(b.stats.spills > 0);
  });

  test(`bounded loads, ${c.label}: a hot key spills to the same next endpoints, in its preference order`, () => {
    const run = (): string[] => {
      const h = harness(c.config, c.endpoints, 1);
      const b = asHashing(h.balancer);
      const hot = makeKeys(1, 77)[0]!;
      const held: Pick[] = [];
      const order: string[] = [];
      for (let i = 0; i < 60; i++) {
        const p = expectOk(h.balancer.pick(hot, null));
        if (!order.includes(p.endpoint.name)) order.push(p.endpoint.name);
        held.push(p);
      }
      const pref = b.preference(hot, c.endpoints.length).map((e) => e.name);
      assert.deepEqual(order, pref.slice(0, order.length), 'spills follow the preference order');
      assert.ok(order.length >= 2, 'the hot key spilled');
      assert.equal(order[0], b.owner(hot)!.name);
      // Released and sent again: the same endpoints, in the same order.
      for (const p of held) p.done(0, 'ok');
      const again: string[] = [];
      for (let i = 0; i < 60; i++) {
        const p = expectOk(h.balancer.pick(hot, null));
        if (!again.includes(p.endpoint.name)) again.push(p.endpoint.name);
        held.push(p);
      }
      assert.deepEqual(again, order);
      for (const p of held.slice(60)) p.done(0, 'ok');
      assertIdle(h.board, c.label);
      return order;
    };
    assert.deepEqual(run(), run(), 'another instance spills the same way');
  });

  test(`bounded loads, ${c.label}: with no load the owner is always chosen`, () => {
    const h = harness(c.config, c.endpoints);
    const b = asHashing(h.balancer);
    const keys: RoutingKey[] = makeKeys(3_000, 5);
    for (const k of keys) {
      const p = expectOk(h.balancer.pick(k, null));
      assert.equal(p.endpoint, b.owner(k));
      p.done(0, 'ok');
    }
    assert.deepEqual(b.stats, { spills: 0, fallthroughs: 0 });
  });
}

test('bounded loads: the same traffic without them overloads the hot key\'s owner (the simulation has teeth)', () => {
  const h = harness(defaultBalancerConfig('ring-hash'), WEIGHTED, 31);
  const rng = seededRng(2024);
  const keys = new SkewedKeys(2_000, 1.1, 0.3, rng);
  const open: Pick[] = [];
  let over = 0;
  for (let step = 0; step < 10_000; step++) {
    if (open.length < 48) {
      const before = h.board.totalInflight;
      const p = expectOk(h.balancer.pick(keys.next(), null));
      if (h.board.loads[p.endpoint.index]!.inflight > loadBound(C, before, p.endpoint.weight, h.board.availableWeight)) over++;
      open.push(p);
    } else {
      open.splice(rng.nextUint32() % open.length, 1)[0]!.done(0, 'ok');
    }
  }
  for (const p of open) p.done(0, 'ok');
  assert.ok(over > 1_000, `picks above the bound without bounded loads: ${over}`);
});
