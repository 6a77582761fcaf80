import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Goal } from '../../bench/proxy/goals.js';
import { evaluateGoals, goalsSection } from '../../bench/proxy/goals.js';
import type { HotKeyRow, IdleRow, MainRow } from '../../bench/proxy/results.js';
import type { BalanceMode, LoadName } from '../../bench/proxy/scenario.js';
import type { TargetName } from '../../bench/proxy/targets.js';

function row(target: TargetName, mode: BalanceMode, load: LoadName, rps: number, cpu: number, p99: number, errors = 0): MainRow {
  return { target, mode, load, note: null, result: { rps, p50Us: p99 / 4, p99Us: p99, cpuUsPerRequest: cpu, rssBytes: 20e6, errors, rounds: 2, rpsSpread: 0 } };
}

function find(goals: readonly Goal[], text: RegExp): Goal {
  const g = goals.find((x) => text.test(x.text));
  assert.ok(g, `no goal matches ${text}`);
  return g;
}

const idle: IdleRow[] = [{ target: 'shardgate', rssBeforeBytes: 45e6, rssWithBytes: 80e6, open: 10_000, failed: 0, dropped: 0, note: null }];
const hot: HotKeyRow[] = [
  { target: 'shardgate', peaks: [20, 20, 20, 4], requests: [1, 1, 1, 1], errors: 0, note: null },
  { target: 'nginx', peaks: [0, 64, 0, 0], requests: [0, 4, 0, 0], errors: 0, note: null },
];

test('evaluateGoals: shardgate against HAProxy and the faster Node proxy, at 64 connections', () => {
  const rows = [
    row('haproxy', 'round-robin', 'h1-64', 24_000, 25, 4000),
    row('shardgate', 'round-robin', 'h1-64', 21_000, 35, 5000),
    row('shardgate-prev', 'round-robin', 'h1-64', 12_000, 60, 9000),
    row('http-proxy-3', 'round-robin', 'h1-64', 9_000, 90, 9000),
    row('reply-from', 'round-robin', 'h1-64', 15_500, 85, 9000),
    row('haproxy', 'round-robin', 'h2-64', 30_000, 20, 3000),
    row('shardgate', 'round-robin', 'h2-64', 20_000, 45, 9000),
  ];
  const goals = evaluateGoals(rows, idle, hot, 20);
  const vsHa = find(goals, /^round-robin: shardgate \(1 worker\) >= 0.85 x HAProxy \(nbthread 1\) req\/s, HTTP\/1.1/);
  assert.equal(vsHa.status, 'met');
  assert.match(vsHa.detail, /x0\.88/);
  const vsNode = find(goals, /^round-robin: shardgate \(1 worker\) >= 1.3 x the plain Node proxy/);
  assert.equal(vsNode.status, 'met', 'against reply-from, the faster: 21,000 / 15,500 = 1.35');
  assert.equal(find(goals, /^round-robin: shardgate ahead of its previous path/).status, 'met');
  const h2c = find(goals, /^round-robin: shardgate \(1 worker\) >= 0.7 x HAProxy .*h2c/);
  assert.equal(h2c.status, 'missed', '20,000 / 30,000 = 0.67');
  assert.doesNotMatch(find(goals, /^round-robin: shardgate CPU/).detail, /h2-64/, 'the cost goals are HTTP/1.1 ones');
  assert.match(vsNode.text, /\[reply-from\]/);
  assert.equal(find(goals, /^round-robin: shardgate CPU/).status, 'met');
  assert.equal(find(goals, /^round-robin: shardgate p99/).status, 'met');
});

test('evaluateGoals: missed when below, and the cost goals look at every HTTP/1.1 load', () => {
  const rows = [
    row('haproxy', 'hash', 'h1-64', 24_000, 25, 4000),
    row('shardgate', 'hash', 'h1-64', 12_000, 45, 5000),
    row('reply-from', 'hash', 'h1-64', 10_000, 85, 9000),
    row('haproxy', 'hash', 'h1-1', 9_000, 40, 200),
    row('shardgate', 'hash', 'h1-1', 5_000, 100, 300),
  ];
  const goals = evaluateGoals(rows, idle, hot, 20);
  assert.equal(find(goals, /^hash: shardgate \(1 worker\) >= 0.85 x HAProxy/).status, 'missed');
  assert.equal(find(goals, /^hash: shardgate \(1 worker\) >= 1.3 x/).status, 'missed', '12,000 / 10,000 = 1.2');
  const cpu = find(goals, /^hash: shardgate CPU/);
  assert.equal(cpu.status, 'missed', '100 us vs 40 us at one connection is x2.5');
  assert.match(cpu.detail, /h1-1 x2\.50/);
  assert.equal(find(goals, /^hash: shardgate p99/).status, 'met');
});

test('evaluateGoals: n/a, not met, when a target was not measured', () => {
  const rows: MainRow[] = [row('haproxy', 'round-robin', 'h1-64', 24_000, 25, 4000), { target: 'shardgate-w2', mode: 'round-robin', load: 'h1-64', result: null, note: 'n/a (not supported): no --workers' }];
  const goals = evaluateGoals(rows, [], [], 20);
  const w2 = find(goals, /^round-robin: shardgate --workers 2/);
  assert.equal(w2.status, 'n/a');
  assert.match(w2.detail, /no --workers/);
  assert.equal(find(goals, /^round-robin: shardgate \(1 worker\) >= 0.85/).status, 'n/a');
  assert.equal(find(goals, /^hot key/).status, 'n/a');
  assert.equal(find(goals, /^idle connections/).status, 'n/a');
});

test('evaluateGoals: the hot key bound, the idle memory added, errors in shardgate runs', () => {
  const rows = [row('shardgate', 'round-robin', 'h1-64', 1, 1, 1, 3)];
  const goals = evaluateGoals(rows, idle, hot, 20);
  assert.equal(find(goals, /^hot key/).status, 'met', 'nginx above the bound is not shardgate');
  assert.equal(find(goals, /^idle connections/).status, 'met', '35 MB added');
  assert.equal(find(goals, /^no errors/).status, 'missed');
  const worse = evaluateGoals(rows, [{ ...idle[0]!, rssWithBytes: 96e6 }], [{ ...hot[0]!, peaks: [21, 20, 20, 3] }], 20);
  assert.equal(find(worse, /^hot key/).status, 'missed');
  assert.equal(find(worse, /^idle connections/).status, 'missed');
});

test('goalsSection: one line per goal, MISSED stands out', () => {
  const text = goalsSection([
    { text: 'a', status: 'met', detail: 'x' },
    { text: 'b', status: 'missed', detail: 'y' },
    { text: 'c', status: 'n/a', detail: 'z' },
  ]);
  assert.equal(text, ['- met    a: x', '- MISSED b: y', '- n/a    c: z'].join('\n'));
});
