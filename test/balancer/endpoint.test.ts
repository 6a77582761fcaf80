import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY_SET, MAX_NAME_LENGTH, MAX_WEIGHT, createEndpointSet } from '../../src/balancer/endpoint.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { ConfigError } from '../../src/errors.js';
import { seededRng } from '../../src/balancer/rng.js';
import { shuffle, specs } from './helpers.js';

function throwsField(fn: () => unknown, field: string, code = 'SG_ERR_ENDPOINTS'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `a ConfigError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.equal(e.code, code);
    assert.ok(e.message.startsWith(`${field}: `), e.message);
    return true;
  });
}

test('endpoint set: sorted by name whatever the input order, with index = position', () => {
  const list = specs(12);
  const rng = seededRng(4);
  const reference = createEndpointSet(list, 3);
  assert.deepEqual(reference.endpoints.map((e) => e.name), [...list.map((e) => e.name)].sort());
  for (let round = 0; round < 20; round++) {
    const s = createEndpointSet(shuffle(list, rng), 3);
    assert.deepEqual(s.endpoints, reference.endpoints);
    s.endpoints.forEach((e, i) => assert.equal(e.index, i));
  }
  // Code-unit order, not natural or locale order: the order must not depend on the runtime.
  const names = createEndpointSet([{ name: 'b', address: 'x:1' }, { name: 'B', address: 'x:1' }, { name: 'a-10', address: 'x:1' }, { name: 'a-9', address: 'x:1' }]).endpoints.map((e) => e.name);
  assert.deepEqual(names, ['B', 'a-10', 'a-9', 'b']);
});

test('endpoint set: fields, defaults, totals, byName and the version', () => {
  const s = createEndpointSet([
    { name: 'b', address: '10.0.0.2:80', weight: 3, zone: 'z1', node: 'n1', labels: { version: 'v2' }, draining: true },
    { name: 'a', address: 'http://10.0.0.1:80' },
  ], 9);
  assert.equal(s.version, 9);
  assert.equal(s.totalWeight, 4);
  assert.deepEqual(s.endpoints[0], { name: 'a', address: 'http://10.0.0.1:80', weight: 1, zone: null, node: null, labels: {}, draining: false, index: 0 });
  assert.deepEqual(s.endpoints[1], { name: 'b', address: '10.0.0.2:80', weight: 3, zone: 'z1', node: 'n1', labels: { version: 'v2' }, draining: true, index: 1 });
  assert.ok(Object.isFrozen(s.endpoints[1].labels), 'labels are immutable like the rest of the set');
  assert.throws(() => createEndpointSet([{ name: 'a', address: 'x:1', labels: { '': 'v' } }]), /endpoints\[0\]\.labels/);
  assert.equal(s.byName.get('b'), s.endpoints[1]);
  assert.equal(s.byName.size, 2);
  assert.equal(createEndpointSet([]).version, 0);
  assert.equal(EMPTY_SET.endpoints.length, 0);
  assert.equal(EMPTY_SET.totalWeight, 0);
});

test('endpoint set: frozen, and the caller\'s specs are not touched', () => {
  const list: EndpointSpec[] = [{ name: 'b', address: 'x:1' }, { name: 'a', address: 'x:2' }];
  const s = createEndpointSet(list);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.endpoints) && Object.isFrozen(s.endpoints[0]));
  assert.equal(list[0]!.name, 'b');
  assert.throws(() => {
    (s.endpoints as unknown as EndpointSpec[]).push({ name: 'c', address: 'x:3' });
  }, TypeError);
});

test('endpoint set: validation errors name the field of the bad entry', () => {
  const ok = { name: 'a', address: '10.0.0.1:80' };
  throwsField(() => createEndpointSet([ok, { name: '', address: 'x:1' }]), 'endpoints[1].name');
  throwsField(() => createEndpointSet([ok, { address: 'x:1' } as unknown as EndpointSpec]), 'endpoints[1].name');
  throwsField(() => createEndpointSet([ok, { name: 'a', address: 'x:1' }]), 'endpoints[1].name');
  throwsField(() => createEndpointSet([ok, { name: 'b', address: '' }]), 'endpoints[1].address');
  throwsField(() => createEndpointSet([{ name: 'b', address: 3 } as unknown as EndpointSpec]), 'endpoints[0].address');
  throwsField(() => createEndpointSet([ok, ok], 0, 'upstreams.cart'), 'upstreams.cart[1].name');
  assert.throws(() => createEndpointSet([ok, { name: 'a', address: 'x:1' }]), /appears twice/);
});

test('endpoint set: a name is 1 to 253 visible ASCII characters, so that a header can carry it', () => {
  assert.equal(MAX_NAME_LENGTH, 253);
  const accepted = ['sharded-svc-0', '127.0.0.1:8080', '[::1]:8080', 'db/primary_1', 'a'.repeat(253), '!~'];
  assert.deepEqual(createEndpointSet(accepted.map((name) => ({ name, address: 'x:1' }))).endpoints.map((e) => e.name), [...accepted].sort());
  const refused: [string, RegExp][] = [
    ['pod-\u2603', /endpoints\[1\]\.name: is "pod-\u2603": "\u2603" \(U\+2603\) at position 5 is not allowed: .*only visible ASCII/],
    ['pod 0', /is "pod 0": " " \(U\+0020\) at position 4 is not allowed: .*no spaces/],
    ['pod\u0007', /is "pod\\u0007": "\\u0007" \(U\+0007\) at position 4 is not allowed/],
    ['pod-\u00e9', /\(U\+00E9\) at position 5/],
    ['pod-\u{1F600}', /\(U\+1F600\) at position 5/],
    ['pod\t', /\(U\+0009\) at position 4/],
    ['a'.repeat(254), /is "a{57}\.\.\.": it has 254 characters: an endpoint name .* at most 253/],
  ];
  for (const [name, message] of refused) {
    throwsField(() => createEndpointSet([{ name: 'ok', address: 'x:1' }, { name, address: 'x:1' }]), 'endpoints[1].name');
    assert.throws(() => createEndpointSet([{ name: 'ok', address: 'x:1' }, { name, address: 'x:1' }]), message);
  }
});

test('endpoint set: weights are integers from 1 to 10000', () => {
  assert.equal(MAX_WEIGHT, 10_000);
  for (const w of [1, 2, 9_999, 10_000]) assert.equal(createEndpointSet([{ name: 'a', address: 'x:1', weight: w }]).endpoints[0]!.weight, w);
  for (const w of [0, -1, 10_001, 1.5, Number.NaN, Infinity]) {
    throwsField(() => createEndpointSet([{ name: 'a', address: 'x:1' }, { name: 'b', address: 'x:1', weight: w }]), 'endpoints[1].weight');
  }
  assert.throws(() => createEndpointSet([{ name: 'a', address: 'x:1', weight: 0 }]), /from 1 to 10000/);
});
