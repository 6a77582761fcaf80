import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../src/errors.js';
import { ShardgatePolicyConfig } from '../../../src/client/grpc/shardgate-policy-config.js';

const TARGET = { text: 'shardgate:static/pod-0=127.0.0.1:1', document: { endpoints: [{ name: 'pod-0', address: '127.0.0.1:1' }] } };

test('the policy config is the config file routing a key: balancer, key from metadata, transform, limits, passive health', () => {
  const policy = ShardgatePolicyConfig.createFromJson({ key: 'x-tenant', balancer: { algorithm: 'maglev', boundedLoad: 1.25 }, keyTransform: 'prefix:4', maxInflight: 8, outlier: false });
  const config = policy.config(TARGET);
  assert.equal(config.balancer.algorithm, 'maglev');
  assert.equal('loadFactor' in config.balancer && config.balancer.loadFactor, 1.25);
  assert.equal(config.key, 'grpc:x-tenant');
  assert.equal(config.keyTransform, 'prefix:4');
  assert.equal(config.proxy.maxInflight, 8);
  assert.equal(config.proxy.outlier, null);
  assert.equal(config.proxy.retries.retries, 0, "grpc-js's own retryPolicy retries");
  assert.deepEqual(config.endpoints, { kind: 'inline', specs: [{ name: 'pod-0', address: '127.0.0.1:1', weight: 1, zone: null, node: null, labels: {}, draining: false }] });
  assert.deepEqual(policy.toJsonObject(), { shardgate: { key: 'x-tenant', balancer: { algorithm: 'maglev', boundedLoad: 1.25 }, keyTransform: 'prefix:4', maxInflight: 8, outlier: false } });
  assert.equal(policy.getLoadBalancerName(), 'shardgate');

  const keyless = ShardgatePolicyConfig.createFromJson({}).config(TARGET);
  assert.equal(keyless.balancer.algorithm, 'p2c', 'the proxy default');
  assert.equal(keyless.key, null);
  assert.notEqual(keyless.proxy.outlier, null, 'passive health on, as in the proxy');
  assert.equal(ShardgatePolicyConfig.createFromJson({ key: 'x-tenant', balancer: 'rendezvous' }).config(TARGET).balancer.algorithm, 'rendezvous');
});

test('a policy config that cannot route is refused naming the field, the value and the fix', () => {
  const cases: [unknown, string, RegExp][] = [
    [[], 'shardgate', /give an object with any of key, keyTransform, balancer, maxInflight, outlier/],
    [{ keys: 'x' }, 'shardgate.keys', /is not a setting of the shardgate policy/],
    [{ key: 'grpc:x-tenant', balancer: 'ring-hash' }, 'shardgate.key', /name the call metadata key/],
    [{ key: 'x-tenant-bin', balancer: 'ring-hash' }, 'shardgate.key', /a key ending in -bin holds bytes/],
    [{ key: 'x-tenant' }, 'key', /^shardgate.key \(key\): is "grpc:x-tenant", but p2c does not route by key/],
    [{ balancer: 'ring-hash' }, 'key', /is missing, but ring-hash routes by key/],
    [{ key: 'x-tenant', balancer: 'ring-hsh' }, 'balancer.algorithm', /^shardgate.balancer \(balancer.algorithm\)/],
    [{ key: 'x-tenant', balancer: 7 }, 'shardgate.balancer', /give an algorithm name/],
    [{ key: 'x-tenant', balancer: { algorithm: 'maglev', tableSize: 65536 } }, 'balancer.tableSize', /prime/],
    [{ maxInflight: -1 }, 'proxy.maxInflight', /^shardgate.maxInflight \(proxy.maxInflight\)/],
    [{ key: 'x-tenant', balancer: 'ring-hash', keyTransform: 'suffix:2' }, 'keyTransform', /^shardgate.keyTransform \(keyTransform\)/],
  ];
  for (const [json, field, message] of cases) {
    assert.throws(
      () => ShardgatePolicyConfig.createFromJson(json),
      (e: unknown) => e instanceof ConfigError && e.field === field && message.test(e.message),
      JSON.stringify(json),
    );
  }
});

test("a target's fault is named as the target's", () => {
  const policy = ShardgatePolicyConfig.createFromJson({ key: 'x-tenant', balancer: 'ring-hash' });
  assert.throws(
    () => policy.config({ text: 'shardgate:static/a=1.2.3.4:5,a=1.2.3.4:6', document: { endpoints: [{ name: 'a', address: '1.2.3.4:5' }, { name: 'a', address: '1.2.3.4:6' }] } }),
    /target shardgate:static\/a=1.2.3.4:5,a=1.2.3.4:6 \(endpoints\[1\].name\): "a" appears twice/,
  );
});
