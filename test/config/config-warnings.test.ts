import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { parseConfig } from '../../src/config/config.js';
import { configWarnings } from '../../src/config/config-warnings.js';

const PODS: EndpointSpec[] = [
  { name: 'shard-0', address: '127.0.0.1:9000', zone: 'eu-a' },
  { name: 'shard-1', address: '127.0.0.1:9001', zone: 'eu-b' },
];

function warnings(doc: Record<string, unknown>, endpoints: readonly EndpointSpec[] | null): string[] {
  return configWarnings(parseConfig({ endpointsFile: '/x.yaml', ...doc }), endpoints);
}

test('configWarnings: none for a sound configuration', () => {
  assert.deepEqual(warnings({ key: 'header:k', balancer: { algorithm: 'ordinal' }, zone: 'eu-a' }, PODS), []);
});

test('configWarnings: ordinal with names that do not end in -N', () => {
  const [w, ...rest] = warnings({ key: 'header:k', balancer: { algorithm: 'ordinal' } }, [...PODS, { name: 'canary', address: '127.0.0.1:9002' }]);
  assert.deepEqual(rest, []);
  assert.match(w!, /^balancer\.algorithm is ordinal, but endpoint canary does not end in -N/);
});

test('configWarnings: lookup and range owners that are not endpoints', () => {
  const lookup = warnings({ key: 'header:k', balancer: { algorithm: 'lookup', entries: [{ key: 'a', endpoint: 'shard-0' }, { key: 'b', endpoint: 'shard-9' }] } }, PODS);
  assert.equal(lookup.length, 1);
  assert.match(lookup[0]!, /^balancer\.entries\[1\]\.endpoint is "shard-9", which is not an endpoint \(known: shard-0, shard-1\)/);
  const ranges = warnings({ key: 'header:k', balancer: { algorithm: 'ranges', onMissing: 'next', ranges: [{ from: 0, to: 10, endpoint: 'gone' }] } }, PODS);
  assert.match(ranges[0]!, /^balancer\.ranges\[0\]\.endpoint is "gone".*go to the next owner/);
});

test('configWarnings: a zone no endpoint is in', () => {
  const [w] = warnings({ zone: 'us-east' }, PODS);
  assert.match(w!, /^zone is "us-east", but no endpoint is in it \(their zones: eu-a, eu-b\)/);
});

test('configWarnings: what needs the endpoints is skipped when discovery finds them', () => {
  assert.deepEqual(warnings({ zone: 'us-east', key: 'header:k', balancer: { algorithm: 'ordinal' } }, null), []);
});

test('configWarnings: a subset label nobody has, every endpoint draining, retries with one endpoint', () => {
  const one: EndpointSpec[] = [{ name: 'shard-0', address: '127.0.0.1:9000', draining: true }];
  const found = warnings({ subsets: { selectors: [{ header: 'x-v', label: 'version' }] } }, one);
  assert.equal(found.length, 3, found.join('\n'));
  assert.match(found[0]!, /label "version", which no endpoint has/);
  assert.match(found[1]!, /every endpoint is draining/);
  assert.match(found[2]!, /proxy\.retries\.retries is 2, but there is one endpoint/);
});

function pods(n: number, weight = 1): EndpointSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `shard-${i}`, address: `127.0.0.1:${9000 + i}`, weight }));
}

test('configWarnings: maglev sized from the count, with a set near the size step', () => {
  const near = warnings({ key: 'header:k', balancer: { algorithm: 'maglev' } }, pods(26));
  assert.equal(near.length, 1);
  assert.match(near[0]!, /^balancer\.tableSize is not set and there are 26 endpoints: the table grows from 65537 to 2097143 slots past 24 endpoints/);
  assert.deepEqual(warnings({ key: 'header:k', balancer: { algorithm: 'maglev' } }, pods(10)), []);
  assert.deepEqual(warnings({ key: 'header:k', balancer: { algorithm: 'maglev' } }, pods(100)), []);
  assert.deepEqual(warnings({ key: 'header:k', balancer: { algorithm: 'maglev', tableSize: 65537 } }, pods(24)), [], 'a pinned size does not change');
});

test('configWarnings: a rendezvous table with the set near a table-size step', () => {
  const below = warnings({ key: 'header:k', balancer: { algorithm: 'rendezvous', table: true } }, pods(190));
  assert.equal(below.length, 1);
  assert.match(below[0]!, /^balancer\.table is true and the endpoints weigh 190 units .* between 192 and 193 units/);
  const over = warnings({ key: 'header:k', balancer: { algorithm: 'rendezvous', table: true } }, pods(13, 5));
  assert.match(over[0]!, /weigh 13 units .* between 12 and 13 units/, 'weights over their common divisor');
  assert.match(warnings({ key: 'header:k', balancer: { algorithm: 'rendezvous', table: true } }, pods(12))[0]!, /weigh 12 units .* between 12 and 13 units/, 'at the edge itself');
  assert.deepEqual(warnings({ key: 'header:k', balancer: { algorithm: 'rendezvous', table: true } }, pods(100)), []);
  assert.deepEqual(warnings({ key: 'header:k', balancer: { algorithm: 'rendezvous' } }, pods(190)), [], 'the scan has no steps');
});
