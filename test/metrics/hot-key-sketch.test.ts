import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/balancer/clock.js';
import { hashKey } from '../../src/balancer/hash.js';
import type { RoutingKey } from '../../src/balancer/hash.js';
import { HotKeySketch } from '../../src/metrics/hot-key-sketch.js';

/** Keys 0..n-1, hashed once (the sketch keeps the text by reference, as the proxy's keys). */
function keys(n: number): RoutingKey[] {
  return Array.from({ length: n }, (_, i) => hashKey(`key-${i}`));
}

/** A skewed stream: item indexes drawn from a small alphabet, with a few heavy ones. */
const streams = fc.record({
  k: fc.integer({ min: 2, max: 24 }),
  items: fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 200 })), { minLength: 1, maxLength: 2_000 }),
});

test('hot-key sketch: with time still (no decay), Space-Saving keeps every key above n/k and overcounts each by at most its error, itself at most n/k', () => {
  fc.assert(
    fc.property(streams, ({ k, items }) => {
      const all = keys(201);
      const sketch = new HotKeySketch(new ManualClock(5), { counters: k, decayMs: 60_000 });
      const truth = new Map<string, number>();
      for (const i of items) {
        sketch.offer(all[i]!, 'pod-0');
        truth.set(all[i]!.text, (truth.get(all[i]!.text) ?? 0) + 1);
      }
      const n = items.length;
      const top = sketch.top();
      const held = new Map(top.map((c) => [c.key, c]));
      assert.ok(top.length <= k, `${top.length} counters for k = ${k}`);
      assert.ok(Math.abs(sketch.total() - n) < 1e-6 * n, `total ${sketch.total()} for ${n} requests`);
      const sum = top.reduce((s, c) => s + c.count, 0);
      assert.ok(Math.abs(sum - n) < 1e-6 * n, `counts sum to ${sum}, not the stream's ${n}`);
      for (const [key, f] of truth) {
        if (f > n / k) assert.ok(held.has(key), `${key} has ${f} of ${n} requests (> n/k = ${n / k}) but no counter`);
      }
      for (const c of top) {
        const f = truth.get(c.key) ?? 0;
        assert.ok(c.count + 1e-9 >= f, `${c.key}: count ${c.count} under its true ${f}`);
        assert.ok(c.count - c.error <= f + 1e-9, `${c.key}: count ${c.count} - error ${c.error} over its true ${f}`);
        assert.ok(c.error <= n / k + 1e-9, `${c.key}: error ${c.error} over n/k = ${n / k}`);
      }
      for (let i = 1; i < top.length; i++) assert.ok(top[i - 1]!.count >= top[i]!.count, 'highest first');
    }),
    { numRuns: 200, seed: 12 },
  );
});

test('hot-key sketch: with time moving, the guarantees hold for exponentially decayed counts', () => {
  fc.assert(
    fc.property(streams, fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 50 }), ({ k, items }, gaps) => {
      const all = keys(201);
      const clock = new ManualClock(0);
      const tauMs = 10_000;
      const sketch = new HotKeySketch(clock, { counters: k, decayMs: tauMs });
      const arrivals: { key: string; atMs: number }[] = [];
      items.forEach((i, j) => {
        clock.advance(gaps[j % gaps.length]!);
        sketch.offer(all[i]!, null);
        arrivals.push({ key: all[i]!.text, atMs: clock.nowMs() });
      });
      clock.advance(1_234);
      const now = clock.nowMs();
      const truth = new Map<string, number>();
      let n = 0;
      for (const a of arrivals) {
        const w = Math.exp(-(now - a.atMs) / tauMs);
        truth.set(a.key, (truth.get(a.key) ?? 0) + w);
        n += w;
      }
      const tolerance = 1e-6 * Math.max(1, n);
      assert.ok(Math.abs(sketch.total() - n) <= tolerance, `decayed total ${sketch.total()} against ${n}`);
      const held = new Map(sketch.top().map((c) => [c.key, c]));
      for (const [key, f] of truth) if (f > n / k + tolerance) assert.ok(held.has(key), `${key}: decayed ${f} of ${n} (> n/k) but no counter`);
      for (const c of held.values()) {
        const f = truth.get(c.key) ?? 0;
        assert.ok(c.count + tolerance >= f, `${c.key}: count ${c.count} under its decayed ${f}`);
        assert.ok(c.count - c.error <= f + tolerance, `${c.key}: count - error over its decayed ${f}`);
        assert.ok(c.error <= n / k + tolerance, `${c.key}: error ${c.error} over n/k`);
      }
    }),
    { numRuns: 150, seed: 7 },
  );
});

test('hot-key sketch: a steady rate settles at rate x tau, so count / windowS reads requests per second; an idle key fades by e per tau', () => {
  const clock = new ManualClock(0);
  const sketch = new HotKeySketch(clock, { counters: 8, decayMs: 10_000 });
  const hot = hashKey('hot');
  // 50 requests a second for 100 s (10 taus): within e^-10 of the steady state.
  for (let ms = 0; ms < 100_000; ms += 20) {
    clock.advance(20);
    sketch.offer(hot, 'pod-1');
  }
  const [top] = sketch.top(1);
  assert.equal(top!.key, 'hot');
  assert.equal(top!.endpoint, 'pod-1');
  const rate = top!.count / sketch.windowS;
  assert.ok(Math.abs(rate - 50) < 0.5, `rate ${rate}, not about 50 per second`);
  clock.advance(10_000);
  const faded = sketch.top(1)[0]!.count / sketch.windowS;
  assert.ok(Math.abs(faded - rate / Math.E) < 0.5, `after one tau idle: ${faded}, not ${rate / Math.E}`);
});

test('hot-key sketch: a young sketch reads the rate from the start: its window is what it has seen of tau', () => {
  const clock = new ManualClock(1_000);
  const sketch = new HotKeySketch(clock, { counters: 8, decayMs: 60_000 });
  for (let ms = 0; ms < 5_000; ms += 10) {
    clock.advance(10);
    sketch.offer(hashKey('k'), null);
  }
  const window = sketch.windowS;
  assert.ok(window > 4.7 && window < 5, `window ${window} s after 5 s of a 60 s tau`);
  const rate = sketch.top(1)[0]!.count / window;
  assert.ok(Math.abs(rate - 100) < 2, `rate ${rate}, not about 100 per second`);
  clock.advance(600_000);
  assert.ok(Math.abs(sketch.windowS - 60) < 0.01, 'the window grows to tau');
});

test('hot-key sketch: hours of traffic move the landmark without losing the counts (weights stay finite)', () => {
  const clock = new ManualClock(0);
  const sketch = new HotKeySketch(clock, { counters: 4, decayMs: 1_000 });
  const a = hashKey('a');
  const b = hashKey('b');
  for (let i = 0; i < 100_000; i++) {
    clock.advance(50);
    sketch.offer(i % 3 === 0 ? b : a, null);
  }
  const top = sketch.top();
  assert.deepEqual(top.map((c) => c.key), ['a', 'b']);
  for (const c of top) assert.ok(Number.isFinite(c.count) && c.count > 0, `${c.key}: ${c.count}`);
  // 20 requests a second, two thirds of them for a: about 13.3 a second over the last tau.
  assert.ok(Math.abs(top[0]!.count / sketch.windowS - 40 / 3) < 1.5, `a at ${top[0]!.count / sketch.windowS} per second`);
});

test('hot-key sketch: a replaced key leaves the table; many distinct keys keep k counters and find each kept key again', () => {
  const clock = new ManualClock(0);
  const sketch = new HotKeySketch(clock, { counters: 16, decayMs: 60_000 });
  const all = keys(5_000);
  for (const key of all) sketch.offer(key, null);
  assert.equal(sketch.size, 16);
  const kept = sketch.top();
  assert.equal(new Set(kept.map((c) => c.key)).size, 16, 'no key holds two counters');
  // Offering a kept key again adds to its counter rather than taking another.
  const again = all.find((k) => k.text === kept[kept.length - 1]!.key)!;
  const before = sketch.top().find((c) => c.key === again.text)!.count;
  sketch.offer(again, null);
  assert.equal(sketch.top().find((c) => c.key === again.text)!.count, before + 1);
  assert.throws(() => new HotKeySketch(clock, { counters: 0, decayMs: 1 }), /counters is 0/);
  assert.throws(() => new HotKeySketch(clock, { counters: 4, decayMs: 0 }), /decayMs is 0/);
});
