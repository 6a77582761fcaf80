import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { resolvedDocument } from '../../src/config/resolved-document.js';

const ENDPOINTS = [
  { name: 'pod-0', address: '127.0.0.1:9000', zone: 'a', labels: { v: '1' } },
  { name: 'pod-1', address: 'http://127.0.0.1:9001', weight: 3, draining: true },
];

test('resolvedDocument: parsing the resolved document gives the same configuration, defaults and all', () => {
  const docs: Record<string, unknown>[] = [
    { endpoints: ENDPOINTS, workers: 1 },
    { endpoints: ENDPOINTS, workers: 4, admin: '127.0.0.1:9901', key: 'header:x-k', keyTransform: 'prefix:4', balancer: { algorithm: 'ring-hash', boundedLoad: 1.25, keyless: 'peak-ewma', decayMs: 5000 } },
    { endpoints: ENDPOINTS, workers: 1, key: 'cookie:k', balancer: { algorithm: 'lookup', entries: [{ key: 'a', endpoint: 'pod-0' }, { prefix: 'b', endpoint: 'pod-1' }], default: 'maglev' }, zone: 'a', zoneMinEndpoints: 2 },
    { endpoints: ENDPOINTS, workers: 1, subsets: { selectors: [{ header: 'x-v', label: 'v' }], fallback: 'default', default: { v: '1' } }, proxy: { outlier: false, healthCheck: { path: '/ready' }, retries: { retries: 1, retryOn: '5xx,reset' }, queue: { max: 3 }, maxInflight: 7 } },
    { endpointsFile: '/tmp/endpoints.yaml', workers: 1, balancer: { algorithm: 'ordinal', replicas: 3, onMissing: 'next' }, key: 'path:1' },
    { discovery: 'k8s:ns/svc:http', podLabels: ['version'], workers: 1 },
    { discovery: 'dns:svc.ns.svc.cluster.local:8080', dnsServer: '10.0.0.10', workers: 1 },
  ];
  for (const doc of docs) {
    const config = parseConfig(doc);
    assert.deepEqual(parseConfig(resolvedDocument(config)), config, JSON.stringify(doc));
  }
});
