import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsFromSlices } from '../../../src/discovery/k8s/endpoint-slice.js';
import type { EndpointSlice, SliceEndpoint } from '../../../src/discovery/k8s/endpoint-slice.js';

function s(name: string, endpoints: SliceEndpoint[], ports: EndpointSlice['ports'] = [{ name: 'http', port: 80, protocol: 'TCP' }], addressType: EndpointSlice['addressType'] = 'IPv4'): EndpointSlice {
  return { metadata: { name }, addressType, endpoints, ports };
}

function ep(ip: string, extra: Partial<SliceEndpoint> = {}): SliceEndpoint {
  return { addresses: [ip], ...extra };
}

const sorted = <T extends { name: string }>(xs: T[]): T[] => [...xs].sort((a, b) => (a.name < b.name ? -1 : 1));

test('slices: conditions map to serving, draining or out; nil ready and serving mean true', () => {
  const { endpoints, problems } = endpointsFromSlices([
    s('a', [
      ep('10.0.0.1', { targetRef: { name: 'p-ready' }, conditions: { ready: true, serving: true, terminating: false } }),
      ep('10.0.0.2', { targetRef: { name: 'p-nil' } }),
      ep('10.0.0.3', { targetRef: { name: 'p-draining' }, conditions: { ready: false, serving: true, terminating: true } }),
      ep('10.0.0.4', { targetRef: { name: 'p-gone' }, conditions: { ready: false, serving: false, terminating: true } }),
      ep('10.0.0.5', { targetRef: { name: 'p-notready' }, conditions: { ready: false, serving: false, terminating: false } }),
      ep('10.0.0.6', { targetRef: { name: 'p-published-terminating' }, conditions: { ready: true, terminating: true } }),
    ]),
  ], null);
  assert.deepEqual(problems, []);
  assert.deepEqual(sorted(endpoints).map((e) => [e.name, e.draining]), [
    ['p-draining', true],
    ['p-nil', false],
    ['p-published-terminating', true],
    ['p-ready', false],
  ]);
});

test('slices: named by targetRef, else hostname, never by address; unnamed endpoints are reported', () => {
  const { endpoints, problems } = endpointsFromSlices([
    s('a', [ep('10.0.0.1', { targetRef: { kind: 'Pod', name: 'db-0' }, hostname: 'ignored' }), ep('10.0.0.2', { hostname: 'db-1', zone: 'z2', nodeName: 'node-b' }), ep('10.0.0.3')]),
  ], 'http');
  assert.deepEqual(sorted(endpoints), [
    { name: 'db-0', address: '10.0.0.1:80', zone: null, node: null, draining: false },
    { name: 'db-1', address: '10.0.0.2:80', zone: 'z2', node: 'node-b', draining: false },
  ]);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /10\.0\.0\.3 has neither targetRef\.name nor hostname/);
});

test('slices: the named port, IPv6 in brackets; without a name only a single-port Service works', () => {
  const ports = [{ name: 'http', port: 80 }, { name: 'grpc', port: 9090 }, { name: 'grpc', port: 53, protocol: 'UDP' }];
  const v6 = s('b', [ep('fd00::1', { targetRef: { name: 'p-1' } })], ports, 'IPv6');
  assert.deepEqual(endpointsFromSlices([v6], 'grpc').endpoints.map((e) => e.address), ['[fd00::1]:9090']);
  const none = endpointsFromSlices([v6], null);
  assert.deepEqual(none.endpoints, []);
  assert.match(none.problems[0]!, /several TCP ports \(http=80, grpc=9090\); name one/);
  const missing = endpointsFromSlices([v6], 'metrics');
  assert.match(missing.problems[0]!, /no TCP port named "metrics"/);
  // The controller's placeholder slice: no endpoints, no ports, no problem.
  assert.deepEqual(endpointsFromSlices([s('empty', [], null)], 'http'), { endpoints: [], problems: [] });
});

test('slices: several slices merge; an endpoint in two slices counts once, serving over draining, whatever the order', () => {
  const a = s('a', [ep('10.0.0.1', { targetRef: { name: 'p-0' }, conditions: { ready: false, serving: true, terminating: true } }), ep('10.0.0.2', { targetRef: { name: 'p-1' } })]);
  const b = s('b', [ep('10.0.0.9', { targetRef: { name: 'p-0' } }), ep('10.0.0.3', { targetRef: { name: 'p-2' } })]);
  const c = s('c', [ep('10.0.0.8', { targetRef: { name: 'p-1' } })]);
  const one = sorted(endpointsFromSlices([a, b, c], 'http').endpoints);
  const other = sorted(endpointsFromSlices([c, b, a], 'http').endpoints);
  assert.deepEqual(one, other);
  assert.deepEqual(one.map((e) => `${e.name}@${e.address}${e.draining === true ? ' draining' : ''}`), ['p-0@10.0.0.9:80', 'p-1@10.0.0.2:80', 'p-2@10.0.0.3:80']);
});
