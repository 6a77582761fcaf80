/**
 * The diff of two assignments: the matrix accounts for every key once, exact ring fractions and
 * ranges agree with what real keys do, and sampled fractions agree within their error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import type { RoutingKey } from '../../src/balancer/hash.js';
import { hashKey } from '../../src/balancer/hash.js';
import { Assignment } from '../../src/directory/assignment.js';
import { compareAssignments } from '../../src/directory/ownership-diff.js';
import type { OwnershipDiff } from '../../src/directory/ownership-diff.js';
import { sampleKeys } from '../../src/directory/sample-keys.js';

const pods = (n: number, extra: Partial<EndpointSpec> = {}): EndpointSpec[] => Array.from({ length: n }, (_, i) => ({ name: `pod-${i}`, address: `10.0.0.${i}:80`, ...extra }));
const keyed = (name: Parameters<typeof defaultBalancerConfig>[0]): KeyedConfig => defaultBalancerConfig(name) as KeyedConfig;
/** Keys unlike the samples: what really moves is measured on other keys than the estimate. */
const CHECK: RoutingKey[] = Array.from({ length: 20_000 }, (_, i) => hashKey(`check-${i * 7919}`));

function actual(a: Assignment, b: Assignment, keys: readonly RoutingKey[]): { moved: number; byPair: Map<string, number> } {
  const byPair = new Map<string, number>();
  let moved = 0;
  for (const k of keys) {
    const x = a.home(k);
    const y = b.home(k);
    const from = 'kind' in x ? null : x.name;
    const to = 'kind' in y ? null : y.name;
    if (from === to) continue;
    moved++;
    byPair.set(`${from}>${to}`, (byPair.get(`${from}>${to}`) ?? 0) + 1);
  }
  return { moved: moved / keys.length, byPair };
}

/** The fraction whose home is `from` before and `to` after: a move, or what stays. */
function cell(d: OwnershipDiff, from: string | null, to: string | null): number {
  if (from !== to) return d.moves.find((m) => m.from === from && m.to === to)?.fraction ?? 0;
  const e = d.endpoints.find((x) => x.endpoint === from)!;
  return e.before - e.lost;
}

function assertWhole(d: OwnershipDiff, what: string): void {
  const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);
  const before = sum(d.endpoints.map((e) => e.before)) + d.unowned.before;
  const after = sum(d.endpoints.map((e) => e.after)) + d.unowned.after;
  assert.ok(Math.abs(before - 1) < 1e-9 && Math.abs(after - 1) < 1e-9, `${what}: the shares sum to ${before} and ${after}`);
  assert.ok(Math.abs(d.moved - sum(d.moves.map((m) => m.fraction))) < 1e-9, `${what}: moved is the sum of the moves`);
  for (const e of d.endpoints) {
    assert.ok(Math.abs(e.before - e.lost - (e.after - e.gained)) < 1e-9, `${what}: ${e.endpoint} keeps the same either way`);
    assert.ok(Math.abs(e.lost - sum(d.moves.filter((m) => m.from === e.endpoint).map((m) => m.fraction))) < 1e-9, `${what}: ${e.endpoint} loses its moves`);
  }
  for (let i = 1; i < d.moves.length; i++) assert.ok(d.moves[i - 1]!.fraction >= d.moves[i]!.fraction, 'largest first');
}

/** Within 4.5 standard errors of a sample of `n` (and a little for the other sample). */
function near(estimate: number, truth: number, n: number, what: string): void {
  const p = Math.max(truth, 1 / n);
  const bound = 4.5 * Math.sqrt((p * (1 - p)) / n) + 4.5 * Math.sqrt((p * (1 - p)) / CHECK.length) + 1e-9;
  assert.ok(Math.abs(estimate - truth) <= bound, `${what}: ${estimate} vs ${truth} (bound ${bound})`);
}

test('diff: ring hash is exact; its ranges hold exactly the keys that move, and one pod joining takes only from others', () => {
  const config = keyed('ring-hash');
  const a = new Assignment(config, createEndpointSet(pods(5), 1), 1);
  const b = new Assignment(config, createEndpointSet(pods(6), 2), 2);
  const d = compareAssignments(a, b, { samples: sampleKeys(config, 4_096) });
  assertWhole(d, 'ring add');
  assert.equal(d.method, 'exact');
  assert.equal(d.samples, null);
  assert.deepEqual(d.endpoints.map((e) => e.endpoint), ['pod-0', 'pod-1', 'pod-2', 'pod-3', 'pod-4', 'pod-5']);
  const truth = actual(a, b, CHECK);
  near(d.moved, truth.moved, CHECK.length, 'moved');
  const joined = d.endpoints.find((e) => e.endpoint === 'pod-5')!;
  assert.equal(joined.before, 0);
  assert.ok(Math.abs(joined.gained - d.moved) < 1e-12, 'every moved key goes to the new pod');
  for (const e of d.endpoints) if (e.endpoint !== 'pod-5') assert.equal(e.gained, 0);
  // Every check key that moved lies in a range pod-5 gained and one its old home lost; none that stayed does.
  const inRanges = (ranges: readonly (readonly [number, number])[], h: number): boolean => ranges.some(([lo, hi]) => lo <= h && h <= hi);
  for (const k of CHECK.slice(0, 5_000)) {
    const before = a.home(k);
    const after = b.home(k);
    assert.ok(!('kind' in before) && !('kind' in after));
    const moved = before.name !== after.name;
    assert.equal(inRanges(joined.ranges!.gained, k.hi), moved, `key ${k.text}`);
    if (moved) assert.ok(inRanges(d.endpoints.find((e) => e.endpoint === before.name)!.ranges!.lost, k.hi));
  }
  for (const ex of d.examples) assert.equal(ex.to, 'pod-5');
  assert.ok(d.examples.length > 0);
});

test('diff: ring hash with a pod marked draining: it loses everything, exactly, and its keys go where picks send them', () => {
  const config = keyed('ring-hash');
  const a = new Assignment(config, createEndpointSet(pods(4), 1), 1);
  const b = new Assignment(config, createEndpointSet(pods(4).map((p) => ({ ...p, draining: p.name === 'pod-1' })), 2), 2);
  const d = compareAssignments(a, b, { samples: sampleKeys(config, 1_024) });
  assertWhole(d, 'ring drain');
  const leaving = d.endpoints.find((e) => e.endpoint === 'pod-1')!;
  assert.equal(leaving.after, 0);
  assert.ok(Math.abs(leaving.lost - leaving.before) < 1e-12);
  assert.ok(Math.abs(d.moved - leaving.before) < 1e-12, 'only its keys move');
  const truth = actual(a, b, CHECK);
  for (const [pair, count] of truth.byPair) {
    const [from, to] = pair.split('>');
    near(cell(d, from!, to!), count / CHECK.length, CHECK.length, pair);
  }
});

test('diff: sampled algorithms agree with real keys within their error, and with no endpoints every key has no home', () => {
  for (const name of ['maglev', 'rendezvous', 'jump'] as const) {
    const config = keyed(name);
    const a = new Assignment(config, createEndpointSet(pods(6), 1), 1);
    const b = new Assignment(config, createEndpointSet(pods(6).filter((p) => p.name !== 'pod-2'), 2), 2);
    const samples = sampleKeys(config, 8_192);
    const d = compareAssignments(a, b, { samples });
    assertWhole(d, name);
    assert.equal(d.method, 'sampled');
    assert.equal(d.samples, 8_192);
    assert.equal(d.endpoints.every((e) => e.ranges === null), true);
    const truth = actual(a, b, CHECK);
    near(d.moved, truth.moved, samples.length, `${name} moved`);
    for (const [pair, count] of truth.byPair) {
      const [from, to] = pair.split('>');
      near(cell(d, from!, to!), count / CHECK.length, samples.length, `${name} ${pair}`);
    }
  }
  const config = keyed('ring-hash');
  const none = new Assignment(config, createEndpointSet([], 1), 1);
  const some = new Assignment(config, createEndpointSet(pods(2), 2), 2);
  const d = compareAssignments(none, some, { samples: sampleKeys(config, 64) });
  assertWhole(d, 'from nothing');
  assert.deepEqual(d.unowned, { before: 1, after: 0 });
  assert.deepEqual(d.moves.map((m) => m.from), [null, null]);
  assert.equal(d.moved, 1);
  assert.ok(d.examples.every((e) => e.from === null));
});

test('diff: ordinal keys mod N, measured over numbers: adding a replica moves most keys', () => {
  const config: KeyedConfig = { ...(defaultBalancerConfig('ordinal') as KeyedConfig & { algorithm: 'ordinal' }) };
  const a = new Assignment(config, createEndpointSet(pods(3), 1), 1);
  const b = new Assignment(config, createEndpointSet(pods(4), 2), 2);
  const d = compareAssignments(a, b, { samples: sampleKeys(config, 12_000) });
  assertWhole(d, 'ordinal');
  // k mod 3 == k mod 4 for k mod 12 in {0, 1, 2}: a quarter stays.
  assert.ok(Math.abs(d.moved - 0.75) < 1e-9, `moved ${d.moved}`);
});
