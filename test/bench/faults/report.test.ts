import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScenarioRow, TargetRun } from '../../../bench/faults/report.js';
import { compareRuns, faultsTable, MEMORY_MARGIN_BYTES, observations } from '../../../bench/faults/report.js';
import { tableCells } from '../../helpers/table-cells.js';

function run(over: Partial<TargetRun> & { get?: [number, number]; post?: [number, number, number, number] } = {}): TargetRun {
  const [gf, gs] = over.get ?? [0, 1000];
  const [pf, ps, pd, pl] = over.post ?? [0, 1000, 0, 0];
  return {
    counts: { idempotent: { sent: gs, failed: gf }, nonIdempotent: { sent: ps, failed: pf, duplicated: pd, lost: pl } },
    rssGrowthBytes: over.rssGrowthBytes ?? 1e6,
    extra: over.extra ?? null,
    idempotentReasons: over.idempotentReasons ?? '',
    nonIdempotentReasons: over.nonIdempotentReasons ?? '',
    duplicatedIds: over.duplicatedIds ?? [],
    notes: over.notes ?? [],
  };
}

test('compareRuns: more failures and a larger share of those sent; memory beyond the margin; the scenario measure met by one only', () => {
  assert.deepEqual(compareRuns(run({ get: [5, 1_000] }), run({ get: [2, 1_000] })), { worse: ['GET'], better: [] });
  assert.deepEqual(compareRuns(run({ get: [2, 1_000] }), run({ get: [5, 10_000] })), { worse: [], better: [] }, 'fewer failures, but a larger share');
  assert.deepEqual(compareRuns(run({ get: [10, 10_000] }), run({ get: [5, 1_000] })), { worse: [], better: [] }, 'more failures, but a smaller share');
  assert.deepEqual(compareRuns(run({ post: [0, 1000, 1, 1] }), run()), { worse: ['POST'], better: [] }, 'one duplicate is worse');
  assert.deepEqual(compareRuns(run({ post: [17, 2_800, 0, 17] }), run({ post: [15, 4_600, 0, 15] })), { worse: [], better: [] }, 'POSTs lost mid-request: 17 against 15 is noise');
  assert.deepEqual(compareRuns(run({ post: [12, 2_800, 0, 12] }), run({ post: [1, 4_600, 0, 1] })), { worse: ['POST'], better: [] }, '12 against 1 is not');
  assert.deepEqual(compareRuns(run(), run({ post: [12, 1000, 0, 12] })), { worse: [], better: ['POST'] });
  assert.deepEqual(compareRuns(run({ rssGrowthBytes: MEMORY_MARGIN_BYTES }), run({ rssGrowthBytes: 0 })), { worse: [], better: [] });
  assert.deepEqual(compareRuns(run({ rssGrowthBytes: MEMORY_MARGIN_BYTES + 2e6 }), run({ rssGrowthBytes: 1e6 })), { worse: ['memory'], better: [] });
  const closed = { what: 'stalled closed', text: '200/200 closed', good: true };
  const open = { what: 'stalled closed', text: '0/200 closed', good: false };
  assert.deepEqual(compareRuns(run({ extra: open }), run({ extra: closed })), { worse: ['stalled closed'], better: [] });
  assert.deepEqual(compareRuns(run({ extra: closed }), run({ extra: closed })), { worse: [], better: [] });
});

test('faultsTable: a row per scenario, shardgate and HAProxy side by side, the comparison last', () => {
  const rows: ScenarioRow[] = [
    {
      name: 'pod-killed',
      label: 'a pod killed',
      results: { shardgate: { kind: 'measured', run: run({ get: [0, 9_259], post: [19, 9_258, 1, 19], rssGrowthBytes: 62.9e6 }) }, haproxy: { kind: 'measured', run: run({ get: [0, 25_412], post: [0, 25_411, 0, 0], rssGrowthBytes: 0.5e6 }) } },
    },
    {
      name: 'upload',
      label: 'an upload',
      results: {
        shardgate: { kind: 'measured', run: run({ get: [0, 0], post: [0, 1, 0, 0], rssGrowthBytes: -0.3e6, extra: { what: 'upload', text: 'upload answered in 6.0 s', good: true } }) },
        haproxy: { kind: 'absent', reason: 'failed to start' },
      },
    },
  ];
  const table = faultsTable(rows);
  assert.match(table.split('\n')[0]!, /^\| scenario +\| GET failed: shardgate \| +HAProxy \| POST failed or dup: shardgate \|/);
  assert.deepEqual(tableCells(table, 0), ['a pod killed', '0 / 9,259', '0 / 25,412', '19 / 9,258 (1 dup)', '0 / 25,411', '+62.9', '+0.5', '-', '-', 'WORSE: POST, memory']);
  assert.deepEqual(tableCells(table, 1), ['an upload', '-', 'n/a', '0 / 1', 'n/a', '-0.3', 'n/a', 'upload answered in 6.0 s', 'n/a', '-']);
});

test('observations: failures by reason and duplicated ids per proxy; nothing for a clean run', () => {
  const rows: ScenarioRow[] = [
    {
      name: 'pod-restarts',
      label: 'restarts',
      results: {
        shardgate: { kind: 'measured', run: run({ nonIdempotentReasons: '12 x HTTP 502 (SG_ERR_UPSTREAM_RESET)', duplicatedIds: ['a-1', 'a-2', 'a-3', 'a-4'] }) },
        haproxy: { kind: 'measured', run: run() },
      },
    },
    { name: 'slowloris', label: 'slowloris', results: { haproxy: { kind: 'absent', reason: 'failed: boom' } } },
  ];
  assert.deepEqual(observations(rows), [
    '- pod-restarts, shardgate: POST failed: 12 x HTTP 502 (SG_ERR_UPSTREAM_RESET); POST delivered twice to the pods: 4 (a-1, a-2, a-3, ...)',
    '- slowloris, HAProxy: not measured: failed: boom',
  ]);
});
