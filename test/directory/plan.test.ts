/**
 * Planned sets: adds, removals, drains and replica counts applied to the current set, with
 * refusals naming the parameter as it was written.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { Assignment } from '../../src/directory/assignment.js';
import { makePlan, parsePlanChange, plannedAssignment, QUERY_NAMES } from '../../src/directory/plan.js';
import type { PlanChange, PlanInput } from '../../src/directory/plan.js';
import { formatPlan } from '../../src/directory/plan-table.js';
import { isRefusal } from '../../src/directory/refusal.js';
import { sampleKeys } from '../../src/directory/sample-keys.js';
import { FLAG_NAMES } from '../../src/cli/plan.js';

const pods = (names: string[]): EndpointSpec[] => names.map((name, i) => ({ name, address: `10.0.0.${i}:80` }));
const input = (p: Partial<PlanInput>): PlanInput => ({ add: [], remove: [], drain: [], replicas: null, weight: null, ...p });
const change = (p: Partial<PlanInput>): PlanChange => {
  const c = parsePlanChange(input(p), QUERY_NAMES);
  assert.ok(!isRefusal(c), isRefusal(c) ? c.error : '');
  return c;
};
const at = (config: KeyedConfig, names: string[]): Assignment => new Assignment(config, createEndpointSet(pods(names), 3), 5);
const names = (a: Assignment | { kind: 'refusal'; error: string }): string => {
  assert.ok(!('kind' in a), 'kind' in a ? a.error : '');
  return a.set.endpoints.map((e) => `${e.name}${e.draining ? '(draining)' : ''}`).join(',');
};

test('plan: adds, removals and drains change the set; the planned assignment is the next generation', () => {
  const ring = defaultBalancerConfig('ring-hash') as KeyedConfig;
  const current = at(ring, ['a', 'b', 'c']);
  const next = plannedAssignment(current, change({ add: ['d'], remove: ['a'], drain: ['b'], weight: '3' }), QUERY_NAMES);
  assert.equal(names(next), 'b(draining),c,d');
  assert.ok(!('kind' in next));
  assert.equal(next.generation, 6);
  assert.equal(next.set.byName.get('d')!.weight, 3);
  assert.equal(next.set.version, 3);
});

test('plan: replicas resizes a StatefulSet, and ordinal takes the new count as its N', () => {
  const ordinal = defaultBalancerConfig('ordinal') as KeyedConfig;
  const current = at(ordinal, ['svc-0', 'svc-1', 'svc-2']);
  assert.equal(names(plannedAssignment(current, change({ replicas: '5' }), QUERY_NAMES)), 'svc-0,svc-1,svc-2,svc-3,svc-4');
  const down = plannedAssignment(current, change({ replicas: '2' }), QUERY_NAMES);
  assert.equal(names(down), 'svc-0,svc-1');
  assert.ok(!('kind' in down) && down.config.algorithm === 'ordinal' && down.config.replicas === 2);
  // Key 5 is 5 mod 3 = 2 now and 5 mod 2 = 1 after.
  assert.equal((current.home(hashKey('5')) as { name: string }).name, 'svc-2');
  const plan = makePlan(current, change({ replicas: '2' }), sampleKeys(ordinal, 600));
  assert.ok(!isRefusal(plan));
  assert.ok(Math.abs(plan.moved - 2 / 3) < 0.01, `key mod 3 vs mod 2: a third stays (${plan.moved})`);
  const mixed = plannedAssignment(at(ordinal, ['svc-0', 'web-1']), change({ replicas: '3' }), QUERY_NAMES);
  assert.ok(isRefusal(mixed));
  assert.match(mixed.error, /^replicas=N needs the endpoints of one StatefulSet, named NAME-<ordinal>; "web-1" is not svc-<ordinal>/);
  const bare = plannedAssignment(at(ordinal, ['primary']), change({ replicas: '3' }), FLAG_NAMES);
  assert.ok(isRefusal(bare));
  assert.match(bare.error, /^--replicas N needs/);
});

test('plan: refusals name the parameter as written, in the query or on the command line', () => {
  const refusal = (p: Partial<PlanInput>, flags = false): string => {
    const c = parsePlanChange(input(p), flags ? FLAG_NAMES : QUERY_NAMES);
    assert.ok(isRefusal(c));
    assert.equal(c.code, 'SG_ERR_PLAN');
    return c.error;
  };
  assert.match(refusal({}), /give add=NAME, remove=NAME, drain=NAME \(each may repeat\) or replicas=N/);
  assert.match(refusal({}, true), /give --add NAME, --remove NAME, --drain NAME/);
  assert.match(refusal({ replicas: 'ten' }), /^replicas=ten is not a replica count/);
  assert.match(refusal({ add: ['x'], weight: '0' }, true), /^--weight 0 is not a weight/);
  const current = at(defaultBalancerConfig('jump') as KeyedConfig, ['a', 'b']);
  const gone = plannedAssignment(current, change({ drain: ['z'] }), FLAG_NAMES);
  assert.ok(isRefusal(gone));
  assert.equal(gone.error, '--drain z: no endpoint has that name; the endpoints are a, b');
  const bad = plannedAssignment(current, change({ add: ['has space'] }), QUERY_NAMES);
  assert.ok(isRefusal(bad));
  assert.match(bad.error, /planned endpoints\[\d\]\.name: is "has space"/);
});

test('plan: the table shows every cell as a percentage of all keys, rows summing to the share now', () => {
  const ring = defaultBalancerConfig('ring-hash') as KeyedConfig;
  const plan = makePlan(at(ring, ['a', 'b']), change({ add: ['c'] }), sampleKeys(ring, 256));
  assert.ok(!isRefusal(plan));
  const text = formatPlan(plan);
  const lines = text.split('\n');
  assert.equal(lines[0], 'plan: add c (ring-hash, exact, from generation 5)');
  assert.match(lines[1]!, /^\d+\.\d\d% of keys move\.$/);
  const header = lines[4]!.split(/\s{2,}/);
  assert.deepEqual(header, ['now \\ after', 'a', 'b', 'c', 'now']);
  const rowA = lines[6]!.split(/\s+/);
  assert.equal(rowA[0], 'a');
  assert.equal(rowA[2], '.', 'nothing moves from a to b');
  assert.ok(Math.abs(Number(rowA[1]) + Number(rowA[3]) - Number(rowA[4])) < 0.02);
  assert.ok(text.includes('keys that move:\n  '));
});
