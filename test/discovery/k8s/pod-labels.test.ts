import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSpec } from '../../../src/balancer/endpoint.js';
import { podSelectorOf, withPodLabels } from '../../../src/discovery/k8s/pod-labels.js';
import type { Pod } from '../../../src/discovery/k8s/pod-labels.js';

test('pod labels: the Service\'s selector in a stable order; none selects every pod', () => {
  assert.equal(podSelectorOf({ spec: { selector: { tier: 'db', app: 'web' } } }), 'app=web,tier=db');
  assert.equal(podSelectorOf({ spec: { selector: null } }), '');
  assert.equal(podSelectorOf({}), '');
});

test('pod labels: only the chosen labels, only of the endpoint\'s own pod; unknown pods and missing labels give none', () => {
  const eps: EndpointSpec[] = [
    { name: 'web-0', address: '10.0.0.1:80', labels: { stale: 'x' } },
    { name: 'web-1', address: '10.0.0.2:80' },
    { name: 'web-2', address: '10.0.0.3:80' },
  ];
  const pods = new Map<string, Pod>([
    ['web-0', { metadata: { name: 'web-0', labels: { version: 'v1', tier: 'gold', app: 'web' } } }],
    ['web-1', { metadata: { name: 'web-1', labels: { app: 'web' } } }],
  ]);
  const out = withPodLabels(eps, pods, ['version', 'tier']);
  assert.deepEqual(out.map((e) => [e.name, e.labels]), [
    ['web-0', { version: 'v1', tier: 'gold' }],
    ['web-1', {}],
    ['web-2', undefined],
  ]);
  assert.equal(out[2], eps[2], 'an endpoint without a known pod is passed through');
});
