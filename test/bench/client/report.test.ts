import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoadResult } from '../../../bench/client/load-loop.js';
import { httpTable, summarize } from '../../../bench/client/report.js';
import { tableCells } from '../../helpers/table-cells.js';

const run = (requests: number, elapsedMs: number, cpuUs: number, failed = 0): LoadResult => ({ requests, elapsedMs, cpuUs, failed });

test('summarize: medians over the rounds of req/s and CPU per request; failures added up', () => {
  const s = summarize({ client: 'x', baseline: false, goal: true, runs: [run(1000, 1000, 20_000), run(3000, 1000, 30_000, 2), run(2000, 1000, 60_000, 1)] });
  assert.equal(s.rps, 2000);
  assert.equal(s.cpuUsPerRequest, 20);
  assert.equal(s.failed, 3);
  assert.equal(s.rounds, 3);
  const even = summarize({ client: 'y', baseline: false, goal: true, runs: [run(1000, 1000, 10_000), run(3000, 1000, 60_000)] });
  assert.equal(even.rps, 2000);
  assert.equal(even.cpuUsPerRequest, 15);
});

test('httpTable: each client against the baseline; the goal judged for goal rows only', () => {
  const table = httpTable([
    { client: 'Pool', baseline: true, goal: false, runs: [run(20_000, 1000, 400_000)] },
    { client: 'BalancedPool', baseline: false, goal: false, runs: [run(20_000, 1000, 600_000)] },
    { client: 'dispatcher, fast', baseline: false, goal: true, runs: [run(18_000, 1000, 432_000)] },
    { client: 'dispatcher, slow', baseline: false, goal: true, runs: [run(10_000, 1000, 250_000)] },
  ]);
  assert.deepEqual(tableCells(table, 0), ['Pool', '20,000', '1.00', '20.0', '1.00', '0', 'baseline']);
  assert.deepEqual(tableCells(table, 1).slice(4), ['1.50', '0', '-']);
  assert.deepEqual(tableCells(table, 2).slice(1), ['18,000', '0.90', '24.0', '1.20', '0', 'met']);
  assert.deepEqual(tableCells(table, 3).slice(3), ['25.0', '1.25', '0', 'missed']);
  assert.throws(() => httpTable([{ client: 'x', baseline: false, goal: true, runs: [run(1, 1, 1)] }]), /baseline/);
});
