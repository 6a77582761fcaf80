import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hotKeyTable, idleTable, mainTable } from '../../bench/proxy/report.js';
import type { MainRow } from '../../bench/proxy/results.js';
import { tableCells } from '../helpers/table-cells.js';

test('mainTable: every value with its ratio to the HAProxy of as many threads, same mode and load', () => {
  const r = (target: MainRow['target'], rps: number, cpu: number): MainRow => ({
    target,
    mode: 'round-robin',
    load: 'h1-64',
    note: null,
    result: { rps, p50Us: 500, p99Us: 2000, cpuUsPerRequest: cpu, rssBytes: 16e6, errors: 0, rounds: 2, rpsSpread: 0.1 },
  });
  const table = mainTable([r('haproxy', 20_000, 25), r('shardgate', 15_000, 50), r('haproxy-2t', 30_000, 30), r('shardgate-w2', 33_000, 45)]);
  const sg = tableCells(table, 1);
  assert.deepEqual(sg.slice(0, 13), ['HTTP/1.1, 64 conns', 'round-robin', 'shardgate, 1 worker', '15,000', '0.75', '0.500', '1.00', '2.00', '1.00', '50.0', '2.00', '16.0', '1.00']);
  assert.equal(sg[14], '±5%');
  const w2 = tableCells(table, 3);
  assert.equal(w2[4], '1.10', 'against HAProxy nbthread 2, not nbthread 1');
});

test('mainTable: a row that was not measured says why, and has no numbers', () => {
  const table = mainTable([{ target: 'shardgate-w2', mode: 'hash', load: 'h2-64', result: null, note: 'n/a (not supported)' }]);
  const c = tableCells(table, 0);
  assert.equal(c[3], 'n/a (not supported)');
  assert.ok(c.slice(4).every((x) => x === '-'));
});

test('idleTable: memory before and with the connections, added, per connection', () => {
  const t = idleTable([{ target: 'nginx', rssBeforeBytes: 16e6, rssWithBytes: 26e6, open: 10_000, failed: 0, dropped: 0, note: null }], 10_000);
  assert.deepEqual(tableCells(t, 0), ['nginx, 1 worker', '16.0', '26.0', '10.0', '1.00', '10,000', '0', '0']);
});

test('hotKeyTable: peaks per pod, the max, and whether it is within the bound', () => {
  const t = hotKeyTable(
    [
      { target: 'haproxy', peaks: [20, 20, 20, 4], requests: [1500, 1500, 1500, 300], errors: 0, note: null },
      { target: 'nginx', peaks: [0, 64, 0, 0], requests: [0, 5000, 0, 0], errors: 0, note: null },
    ],
    20,
  );
  assert.deepEqual(tableCells(t, 0), ['HAProxy, nbthread 1', '20', '20', '20', '4', '20', 'within', '1,500 / 1,500 / 1,500 / 300', '0']);
  assert.equal(tableCells(t, 1)[6], 'ABOVE');
});
