import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/balancer/clock.js';
import { DEFAULT_RETRY_BUDGET, RetryBudget, validateRetryBudgetOptions } from '../../src/balancer/retry-budget.js';
import { ConfigError } from '../../src/errors.js';

test('retry budget: with no traffic, minRetriesPerSecond x the window; each request adds budgetPercent of a retry', () => {
  const clock = new ManualClock(0);
  const b = new RetryBudget(clock);
  assert.deepEqual(b.options, { budgetPercent: 20, minRetriesPerSecond: 10, budgetWindowMs: 10_000 });
  assert.equal(b.balance(), 100);
  for (let i = 0; i < 50; i++) b.deposit();
  assert.equal(b.balance(), 110);
  const none = new RetryBudget(clock, { budgetPercent: 0, minRetriesPerSecond: 0 });
  for (let i = 0; i < 1_000; i++) none.deposit();
  assert.equal(none.tryWithdraw(), false, 'a zero budget turns retries off');
});

test('retry budget: a burst spends what the window saved, then retries are refused until traffic refills it', () => {
  const clock = new ManualClock(0);
  const b = new RetryBudget(clock, { budgetPercent: 20, minRetriesPerSecond: 0 });
  // 10 s of 100 requests a second: 200 retries saved.
  for (let s = 0; s < 10; s++) {
    for (let i = 0; i < 100; i++) b.deposit();
    clock.advance(1_000);
  }
  clock.advance(-1); // the last moment of second 9: all ten seconds are in the window
  let taken = 0;
  while (b.tryWithdraw()) taken++;
  assert.equal(taken, 200, 'the deposits of the window, spent at once');
  for (let i = 0; i < 5; i++) b.deposit();
  assert.equal(b.tryWithdraw(), true, 'five more requests, one more retry');
  assert.equal(b.tryWithdraw(), false);
  clock.advance(1); // second 10: second 0's deposits have left the window, the retries not yet
  assert.equal(b.balance(), 180 + 1 - 201);
  assert.equal(b.tryWithdraw(), false);
});

test('retry budget: deposits and retries older than the window no longer count', () => {
  const clock = new ManualClock(5_000);
  const b = new RetryBudget(clock, { budgetPercent: 100, minRetriesPerSecond: 0, budgetWindowMs: 2_000 });
  for (let i = 0; i < 10; i++) b.deposit();
  assert.equal(b.balance(), 10);
  for (let i = 0; i < 4; i++) assert.ok(b.tryWithdraw());
  clock.advance(1_000);
  assert.equal(b.balance(), 6, 'still inside the window');
  clock.advance(1_000);
  assert.equal(b.balance(), 0, 'both the deposits and the withdrawals have expired');
  // A slice is reused when its second comes round again, emptied first.
  b.deposit();
  assert.equal(b.balance(), 1);
});

test('retry budget: whenever a retry is taken, the retries of the window are within the floor plus budgetPercent of its requests', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(40), fc.nat(40)), { maxLength: 60 }), (steps) => {
      const clock = new ManualClock(0);
      const b = new RetryBudget(clock, { budgetPercent: 25, minRetriesPerSecond: 2, budgetWindowMs: 3_000 });
      const history: { second: number; deposits: number; retries: number }[] = [];
      for (const [gapS, requests, wanted] of steps) {
        clock.advance(gapS * 1_000);
        const second = Math.floor(clock.nowMs() / 1_000);
        for (let i = 0; i < requests; i++) b.deposit();
        let retries = 0;
        for (let i = 0; i < wanted; i++) if (b.tryWithdraw()) retries++;
        history.push({ second, deposits: requests, retries });
        // Deposits may leave the window before the retries they paid for: checked when one is taken.
        if (retries === 0) continue;
        const inWindow = history.filter((h) => h.second > second - 3);
        const deposits = inWindow.reduce((n, h) => n + h.deposits, 0);
        const spent = inWindow.reduce((n, h) => n + h.retries, 0);
        assert.ok(spent <= deposits * 0.25 + 2 * 3, `${spent} retries against ${deposits} requests in the window`);
      }
    }),
    { seed: 42 },
  );
});

test('validateRetryBudgetOptions: Linkerd\'s defaults; bad values name the field', () => {
  assert.deepEqual(validateRetryBudgetOptions(undefined, 'proxy.retries'), DEFAULT_RETRY_BUDGET);
  assert.equal(validateRetryBudgetOptions({ budgetPercent: 2.5 }, 'x').budgetPercent, 2.5);
  for (const [raw, field] of [
    [{ budgetPercent: 1001 }, 'proxy.retries.budgetPercent'],
    [{ budgetPercent: Number.NaN }, 'proxy.retries.budgetPercent'],
    [{ minRetriesPerSecond: 1.5 }, 'proxy.retries.minRetriesPerSecond'],
    [{ budgetWindowMs: 1_500 }, 'proxy.retries.budgetWindowMs'],
    [{ budgetWindowMs: 120_000 }, 'proxy.retries.budgetWindowMs'],
    [{ minRetryConcurrency: 3 }, 'proxy.retries.minRetryConcurrency'],
    ['20%', 'proxy.retries'],
  ] as const) {
    assert.throws(
      () => validateRetryBudgetOptions(raw, 'proxy.retries'),
      (e: unknown) => e instanceof ConfigError && e.code === 'SG_ERR_RETRY' && e.field === field,
      JSON.stringify(raw),
    );
  }
  assert.throws(() => new RetryBudget(new ManualClock(), { budgetPercent: -1 }), /retryBudget\.budgetPercent: is -1: .* from 0 to 1000; the default is 20/);
});
