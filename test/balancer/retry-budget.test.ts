import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_RETRY_BUDGET, RetryBudget, validateRetryBudgetOptions } from '../../src/balancer/retry-budget.js';
import { ConfigError } from '../../src/errors.js';

test('retry budget: at least min_retry_concurrency, else budget_percent of the active requests, rounded down', () => {
  const b = new RetryBudget();
  assert.deepEqual(b.options, { budgetPercent: 20, minRetryConcurrency: 3 });
  assert.equal(b.limit(0), 3);
  assert.equal(b.limit(19), 3);
  assert.equal(b.limit(20), 4);
  assert.equal(b.limit(24), 4);
  assert.equal(b.limit(1_000), 200);
  assert.equal(new RetryBudget({ budgetPercent: 12.5, minRetryConcurrency: 0 }).limit(9), 1);
});

test('retry budget: tryAcquire takes slots up to the limit, release gives them back', () => {
  const b = new RetryBudget();
  const taken = [0, 1, 2, 3].map(() => b.tryAcquire(10));
  assert.deepEqual(taken, [true, true, true, false]);
  assert.equal(b.active, 3);
  assert.equal(b.tryAcquire(20), true, 'more traffic, more budget');
  assert.equal(b.tryAcquire(20), false);
  b.release();
  assert.equal(b.tryAcquire(20), true);
  for (let i = 0; i < 10; i++) b.release();
  assert.equal(b.active, 0, 'never below zero');
  const none = new RetryBudget({ budgetPercent: 0, minRetryConcurrency: 0 });
  assert.equal(none.tryAcquire(1_000), false, 'a zero budget turns retries off');
});

test('retry budget: retries in flight never exceed the limit in force when each was taken', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(500)), { maxLength: 300 }), (steps) => {
      const b = new RetryBudget();
      for (const [acquire, active] of steps) {
        if (!acquire) {
          b.release();
          continue;
        }
        const before = b.active;
        const ok = b.tryAcquire(active);
        assert.equal(ok, before < Math.max(3, Math.floor(active / 5)));
        assert.equal(b.active, ok ? before + 1 : before);
      }
    }),
    { seed: 42 },
  );
});

test('validateRetryBudgetOptions: Envoy\'s defaults; bad values name the field', () => {
  assert.deepEqual(validateRetryBudgetOptions(undefined, 'proxy.retryBudget'), DEFAULT_RETRY_BUDGET);
  assert.equal(validateRetryBudgetOptions({ budgetPercent: 2.5 }, 'x').budgetPercent, 2.5);
  for (const [raw, field] of [
    [{ budgetPercent: 101 }, 'proxy.retryBudget.budgetPercent'],
    [{ budgetPercent: Number.NaN }, 'proxy.retryBudget.budgetPercent'],
    [{ minRetryConcurrency: 1.5 }, 'proxy.retryBudget.minRetryConcurrency'],
    [{ minRetries: 3 }, 'proxy.retryBudget.minRetries'],
    ['20%', 'proxy.retryBudget'],
  ] as const) {
    assert.throws(
      () => validateRetryBudgetOptions(raw, 'proxy.retryBudget'),
      (e: unknown) => e instanceof ConfigError && e.code === 'SG_ERR_RETRY' && e.field === field,
      JSON.stringify(raw),
    );
  }
  assert.throws(() => new RetryBudget({ budgetPercent: -1 }), /retryBudget\.budgetPercent: is -1: .* from 0 to 100; the default is 20/);
});
