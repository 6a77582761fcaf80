import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatK8sDiscoverySpec, parseK8sDiscoverySpec } from '../../../src/discovery/k8s/discovery-spec.js';
import { ConfigError } from '../../../src/errors.js';

test('k8s spec: namespace, service and an optional port name', () => {
  assert.deepEqual(parseK8sDiscoverySpec('k8s:prod/sharded-svc:grpc'), { namespace: 'prod', service: 'sharded-svc', portName: 'grpc' });
  assert.deepEqual(parseK8sDiscoverySpec('k8s:default/web'), { namespace: 'default', service: 'web', portName: null });
  assert.equal(formatK8sDiscoverySpec(parseK8sDiscoverySpec('k8s:a/b:c')), 'k8s:a/b:c');
  assert.equal(formatK8sDiscoverySpec(parseK8sDiscoverySpec('k8s:a/b')), 'k8s:a/b');
});

test('k8s spec: a bad spec is a ConfigError naming the part at fault', () => {
  const cases: [string, string, RegExp][] = [
    ['dns:web', 'discovery', /give k8s:NAMESPACE\/SERVICE/],
    ['k8s:web', 'discovery', /no namespace/],
    ['k8s:Prod/web', 'discovery.namespace', /"Prod"/],
    ['k8s:/web', 'discovery.namespace', /""/],
    ['k8s:prod/1web', 'discovery.service', /starts with a letter/],
    ['k8s:prod/web:', 'discovery.portName', /""/],
    ['k8s:prod/web:HTTP', 'discovery.portName', /"HTTP"/],
    [`k8s:prod/${'a'.repeat(64)}`, 'discovery.service', /at most 63/],
  ];
  for (const [text, field, message] of cases) {
    assert.throws(() => parseK8sDiscoverySpec(text), (e: unknown) => e instanceof ConfigError && e.field === field && message.test(e.message), text);
  }
  assert.throws(() => parseK8sDiscoverySpec('k8s:web', 'upstreams[0].discovery'), (e: unknown) => e instanceof ConfigError && e.field === 'upstreams[0].discovery');
});
