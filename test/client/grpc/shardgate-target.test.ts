import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../src/errors.js';
import { parseShardgateTarget } from '../../../src/client/grpc/shardgate-target.js';

/** As grpc-js's uri-parser splits `scheme:[//authority/]path`. */
function uri(text: string): { scheme: string; authority?: string; path: string } {
  const m = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.+)$/.exec(text)!;
  return m[2] === undefined ? { scheme: m[1]!, path: m[3]! } : { scheme: m[1]!, authority: m[2], path: m[3]! };
}

test('every form becomes the config-document fields of its source, with the authority calls carry', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['shardgate:k8s/shop/sharded-svc', { discovery: 'k8s:shop/sharded-svc' }, 'sharded-svc.shop.svc'],
    ['shardgate:k8s/shop/sharded-svc:grpc', { discovery: 'k8s:shop/sharded-svc:grpc' }, 'sharded-svc.shop.svc'],
    ['shardgate:dns/sharded-svc.shop.svc.cluster.local:50051', { discovery: 'dns:sharded-svc.shop.svc.cluster.local:50051' }, 'sharded-svc.shop.svc.cluster.local:50051'],
    ['shardgate:srv/_grpc._tcp.sharded-svc.shop.svc.cluster.local', { discovery: 'srv:_grpc._tcp.sharded-svc.shop.svc.cluster.local' }, 'sharded-svc.shop.svc.cluster.local'],
    ['shardgate://10.96.0.10:53/srv/_grpc._tcp.svc.local', { discovery: 'srv:_grpc._tcp.svc.local', dnsServer: '10.96.0.10:53' }, 'svc.local'],
    ['shardgate:static/pod-0=10.0.0.7:50051,pod-1=h2c://10.0.0.8:50051', { endpoints: [{ name: 'pod-0', address: '10.0.0.7:50051' }, { name: 'pod-1', address: 'h2c://10.0.0.8:50051' }] }, '10.0.0.7:50051'],
    ['shardgate:static/pod-0=[::1]:50051', { endpoints: [{ name: 'pod-0', address: '[::1]:50051' }] }, '[::1]:50051'],
    ['shardgate:file//etc/shardgate/endpoints.yaml', { endpointsFile: '/etc/shardgate/endpoints.yaml' }, 'localhost'],
    ['shardgate:file/endpoints.yaml', { endpointsFile: 'endpoints.yaml' }, 'localhost'],
  ];
  for (const [text, document, authority] of cases) {
    const target = parseShardgateTarget(uri(text));
    assert.deepEqual(target.document, document, text);
    assert.equal(target.authority, authority, text);
    assert.equal(target.text, text);
  }
});

test('a target that is none of the forms is refused naming the target, the part at fault and the forms', () => {
  const cases: [string, RegExp][] = [
    ['shardgate:k8s', /names no source after the kind/],
    ['shardgate:consul/svc', /"consul" is not a source: write shardgate:k8s\/NAMESPACE\/SERVICE/],
    ['shardgate:k8s/shop', /with no namespace/],
    ['shardgate:k8s/Shop/svc', /a namespace is a DNS label/],
    ['shardgate:dns/svc.local', /give dns:HOST:PORT/],
    ['shardgate:dns/svc.local:0', /the port "0" must be an integer from 1 to 65535/],
    ['shardgate:static/pod-0', /write NAME=HOST:PORT entries/],
    ['shardgate:static/pod-0=nowhere', /the port is missing/],
    ['shardgate://10.0.0.1/k8s/shop/svc', /only dns\/ and srv\/ targets take an authority/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseShardgateTarget(uri(text)),
      (e: unknown) => e instanceof ConfigError && e.code === 'SG_ERR_CONFIG' && e.field === 'target' && e.message.includes(JSON.stringify(text)) && message.test(e.message),
      text,
    );
  }
});
