import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import { RefreshLimiter } from '../../src/discovery/refresh-limiter.js';
import type { Timers } from '../../src/discovery/static-file.js';
import { ConfigError } from '../../src/errors.js';

/** Timers that fire only when the clock is moved past them with `advance()`. */
class ManualTimers implements Timers {
  readonly clock = new ManualClock(10_000);
  #pending: { readonly dueMs: number; readonly callback: () => void; readonly handle: NodeJS.Timeout }[] = [];

  get pending(): number {
    return this.#pending.length;
  }

  setTimeout(callback: () => void, ms: number): NodeJS.Timeout {
    const handle = { unref: () => handle } as unknown as NodeJS.Timeout;
    this.#pending.push({ dueMs: this.clock.nowMs() + ms, callback, handle });
    return handle;
  }

  clearTimeout(timer: NodeJS.Timeout): void {
    this.#pending = this.#pending.filter((p) => p.handle !== timer);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    const due = this.#pending.filter((p) => p.dueMs <= this.clock.nowMs());
    this.#pending = this.#pending.filter((p) => p.dueMs > this.clock.nowMs());
    for (const p of due) p.callback();
  }
}

function limiter(minGapMs = 1_000): { limiter: RefreshLimiter; timers: ManualTimers; calls: number[]; reasons: string[] } {
  const timers = new ManualTimers();
  const calls: number[] = [];
  const reasons: string[] = [];
  const l = new RefreshLimiter(() => calls.push(timers.clock.nowMs()), { minGapMs, clock: timers.clock, timers, onRefresh: (r) => reasons.push(r) });
  return { limiter: l, timers, calls, reasons };
}

test('RefreshLimiter: the first request refreshes at once; a storm inside the gap costs one more, when the gap ends', () => {
  const { limiter: l, timers, calls, reasons } = limiter(1_000);
  l.request('pod-1');
  assert.deepEqual(calls, [10_000], 'at once');
  for (let i = 0; i < 500; i++) {
    timers.advance(1);
    l.request(`storm-${i}`);
  }
  // 500 requests over 500 ms: one trailing refresh, armed for the gap's end and not yet due.
  assert.deepEqual(calls, [10_000]);
  assert.equal(timers.pending, 1, 'one timer, however many requests');
  timers.advance(499);
  assert.deepEqual(calls, [10_000]);
  timers.advance(1);
  assert.deepEqual(calls, [10_000, 11_000], 'the trailing refresh, exactly one gap after the first');
  assert.deepEqual(reasons, ['pod-1', 'storm-499'], 'each refresh names the latest reason before it');
  assert.equal(l.refreshes, 2);
});

test('RefreshLimiter: over a long storm, refreshes are spaced by the gap; a quiet spell lets the next one go at once', () => {
  const { limiter: l, timers, calls } = limiter(1_000);
  for (let ms = 0; ms < 5_000; ms += 10) {
    l.request('pod-2');
    timers.advance(10);
  }
  // At 0, then at the end of each gap: 0, 1000, ..., 4000 and the one armed at 4990 for 5000.
  assert.deepEqual(calls.map((t) => t - 10_000), [0, 1_000, 2_000, 3_000, 4_000, 5_000]);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i]! - calls[i - 1]! >= 1_000, `refreshes ${i - 1} and ${i} at least a gap apart`);
  timers.advance(3_000);
  assert.equal(calls.length, 6, 'no request, no refresh');
  l.request('pod-2');
  assert.equal(calls.length, 7, 'a request long after the last refresh goes at once');
  assert.equal(timers.pending, 0);
});

test('RefreshLimiter: close() drops the pending refresh and ignores later requests', () => {
  const { limiter: l, timers, calls } = limiter(1_000);
  l.request('a');
  l.request('b');
  assert.equal(timers.pending, 1);
  l.close();
  assert.equal(timers.pending, 0);
  timers.advance(5_000);
  l.request('c');
  assert.deepEqual(calls, [10_000]);
  l.close();
});

test('RefreshLimiter: a gap that is not a positive whole number of milliseconds is refused, naming it', () => {
  for (const minGapMs of [0, -5, 1.5, Number.NaN]) {
    assert.throws(
      () => new RefreshLimiter(() => undefined, { minGapMs }),
      (e: unknown) => e instanceof ConfigError && e.field === 'minGapMs' && e.message.includes(String(minGapMs)),
      String(minGapMs),
    );
  }
});
