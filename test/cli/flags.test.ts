import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/balancer/factory.js';
import { attributeName, flagLayer, flagName, SERVE_FLAGS } from '../../src/cli/flags.js';
import { ALGORITHM_INFO } from '../../src/cli/help.js';
import { parseConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';

test('flags: the documented serve command becomes the config it describes', () => {
  const given = new Map<string, unknown>([
    ['listen', '127.0.0.1:8080'],
    ['endpoints', 'pod-0=127.0.0.1:9000,pod-1=127.0.0.1:9001'],
    ['balancer', 'ring-hash'],
    ['boundedLoad', '1.25'],
    ['key', 'header:x-affinity'],
    ['endpointHeader', false],
    ['connectTimeoutMs', '500'],
  ]);
  const layer = flagLayer(given);
  const c = parseConfig(layer.values, { flags: layer.flags });
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
  assert.ok(c.balancer.algorithm === 'ring-hash');
  assert.equal(c.balancer.loadFactor, 1.25);
  assert.equal(c.key, 'header:x-affinity');
  assert.equal(c.proxy.endpointHeader, false);
  assert.equal(c.proxy.timeouts.connectMs, 500);
  assert.ok(c.endpoints.kind === 'inline');
  assert.deepEqual(c.endpoints.specs.map((s) => s.name), ['pod-0', 'pod-1']);
});

test('flags: each flag sets one distinct config field, under the attribute commander uses', () => {
  const fields = SERVE_FLAGS.map((s) => s.field);
  assert.equal(new Set(fields).size, fields.length);
  assert.equal(attributeName(SERVE_FLAGS.find((s) => flagName(s) === '--no-endpoint-header')!), 'endpointHeader');
  assert.equal(attributeName(SERVE_FLAGS.find((s) => flagName(s) === '--upstream-headers-timeout-ms')!), 'upstreamHeadersTimeoutMs');
});

test('flags: a number that does not parse stays text, for the schema to refuse by flag name', () => {
  const layer = flagLayer(new Map([['boundedLoad', '1.2.5'], ['balancer', 'maglev']]));
  assert.deepEqual(layer.values, { balancer: { boundedLoad: '1.2.5', algorithm: 'maglev' } });
  assert.equal(layer.flags.get('balancer.boundedLoad'), '--bounded-load');
});

test('flags: a balancer option without --balancer points a missing algorithm at --balancer', () => {
  const layer = flagLayer(new Map([['boundedLoad', '1.25'], ['endpoints', 'a=127.0.0.1:1'], ['key', 'header:k']]));
  assert.throws(
    () => parseConfig(layer.values, { flags: layer.flags }),
    (e: unknown) => e instanceof ConfigError && e.field === 'balancer.algorithm' && e.message.startsWith('--balancer (balancer.algorithm): is missing'),
  );
});

test('help: every algorithm is described', () => {
  assert.deepEqual(Object.keys(ALGORITHM_INFO).sort(), [...ALGORITHMS].sort());
});

test('flags: --key json:PATH, --key-transform and --max-body-buffer reach their config fields', () => {
  const layer = flagLayer(
    new Map<string, unknown>([
      ['endpoints', 'pod-0=127.0.0.1:9000'],
      ['balancer', 'maglev'],
      ['key', 'json:account.id'],
      ['keyTransform', 'delimited:-:0'],
      ['maxBodyBuffer', '131072'],
    ]),
  );
  assert.equal(layer.flags.get('keyTransform'), '--key-transform');
  assert.equal(layer.flags.get('proxy.maxBodyBuffer'), '--max-body-buffer');
  const c = parseConfig(layer.values, { flags: layer.flags });
  assert.equal(c.key, 'json:account.id');
  assert.equal(c.keyTransform, 'delimited:-:0');
  assert.equal(c.proxy.maxBodyBuffer, 131_072);
});

test('flags: a bad --key-transform or --max-body-buffer is refused by flag name', () => {
  const base: [string, unknown][] = [['endpoints', 'pod-0=127.0.0.1:9000'], ['balancer', 'maglev'], ['key', 'header:k']];
  const bad = flagLayer(new Map<string, unknown>([...base, ['keyTransform', 'prefix:x']]));
  assert.throws(
    () => parseConfig(bad.values, { flags: bad.flags }),
    (e: unknown) => e instanceof ConfigError && e.code === 'SG_ERR_KEY_TRANSFORM' && e.message.startsWith('--key-transform (keyTransform): is "prefix:x"'),
  );
  const big = flagLayer(new Map<string, unknown>([...base, ['maxBodyBuffer', '64k']]));
  assert.throws(() => parseConfig(big.values, { flags: big.flags }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--max-body-buffer (proxy.maxBodyBuffer): is "64k"'));
});

test('flags: --zone, --zone-min-endpoints, repeated --subset, --subset-fallback and --subset-default reach their config fields', () => {
  const layer = flagLayer(
    new Map<string, unknown>([
      ['endpoints', 'pod-0=127.0.0.1:9000'],
      ['zone', 'eu-west-1a'],
      ['zoneMinEndpoints', '2'],
      ['subset', ['x-version=version', 'X-Tier = tier']],
      ['subsetFallback', 'default'],
      ['subsetDefault', 'version=v1,tier=gold'],
    ]),
  );
  const c = parseConfig(layer.values, { flags: layer.flags });
  assert.equal(c.zone, 'eu-west-1a');
  assert.equal(c.zoneMinEndpoints, 2);
  assert.deepEqual(c.subsets, {
    selectors: [
      { header: 'x-version', label: 'version' },
      { header: 'x-tier', label: 'tier' },
    ],
    fallback: 'default',
    defaultSubset: { version: 'v1', tier: 'gold' },
    maxSubsets: 64,
  });
  assert.equal(SERVE_FLAGS.find((s) => flagName(s) === '--subset')!.repeatable, true);
});

test('flags: a bad --subset or --subset-fallback is refused by flag name', () => {
  assert.throws(
    () => flagLayer(new Map<string, unknown>([['subset', ['x-version']]])),
    (e: unknown) => e instanceof ConfigError && e.field === 'subsets.selectors[0]' && e.message.startsWith('--subset (subsets.selectors[0]): is "x-version": write HEADER=LABEL'),
  );
  const layer = flagLayer(new Map<string, unknown>([['endpoints', 'pod-0=127.0.0.1:9000'], ['subset', ['x-version=version', 'x-v2=version']]]));
  assert.throws(
    () => parseConfig(layer.values, { flags: layer.flags }),
    (e: unknown) => e instanceof ConfigError && e.message.startsWith('--subset (subsets.selectors[1].label): is "version", which an earlier selector selects already'),
  );
  const fallback = flagLayer(new Map<string, unknown>([['endpoints', 'pod-0=127.0.0.1:9000'], ['subset', ['x-version=version']], ['subsetFallback', 'some']]));
  assert.throws(() => parseConfig(fallback.values, { flags: fallback.flags }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--subset-fallback (subsets.fallback): is "some"'));
});

test('flags: --pod-labels a, b becomes the podLabels list; an empty entry is refused by the flag\'s name', () => {
  const layer = flagLayer(new Map([['discovery', 'k8s:default/web'], ['podLabels', 'version, tier']]));
  const c = parseConfig(layer.values, { flags: layer.flags });
  assert.deepEqual(c.endpoints.kind === 'k8s' ? c.endpoints.podLabels : null, ['version', 'tier']);
  const bad = flagLayer(new Map([['discovery', 'k8s:default/web'], ['podLabels', 'version,']]));
  assert.throws(() => parseConfig(bad.values, { flags: bad.flags }), (e: unknown) => e instanceof ConfigError && /--pod-labels/.test(e.message));
});

test('flags: --max-connection-age-ms and --max-connection-age-grace-ms reach their config fields; off and 30 s by default; a negative age is refused by flag name', () => {
  const base: [string, unknown][] = [['endpoints', 'pod-0=127.0.0.1:9000']];
  const plain = flagLayer(new Map<string, unknown>(base));
  const d = parseConfig(plain.values, { flags: plain.flags }).proxy.timeouts;
  assert.deepEqual([d.maxConnectionAgeMs, d.maxConnectionAgeGraceMs], [0, 30_000]);
  const layer = flagLayer(new Map<string, unknown>([...base, ['maxConnectionAgeMs', '120000'], ['maxConnectionAgeGraceMs', '0']]));
  const t = parseConfig(layer.values, { flags: layer.flags }).proxy.timeouts;
  assert.deepEqual([t.maxConnectionAgeMs, t.maxConnectionAgeGraceMs], [120_000, 0]);
  const bad = flagLayer(new Map<string, unknown>([...base, ['maxConnectionAgeMs', '-5']]));
  assert.throws(() => parseConfig(bad.values, { flags: bad.flags }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--max-connection-age-ms (proxy.timeouts.maxConnectionAgeMs): is -5'));
});
