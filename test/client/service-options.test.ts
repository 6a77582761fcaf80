/**
 * A service's settings are a config document, read by the config file's own parser: the same
 * defaults and messages, prefixed with the service. The proxy's listener settings, `json:` keys
 * and a key function for a keyless balancer are refused by name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServiceOptions } from '../../src/client/service-options.js';
import { ConfigError, ERROR_CODES } from '../../src/errors.js';

const NAME = 'sharded-svc.ns.svc:8080';
const LABEL = `services["${NAME}"]`;
const ENDPOINTS = [{ name: 'pod-0', address: '10.0.0.10:8080' }];

function refuses(options: unknown, field: string, ...parts: string[]): void {
  assert.throws(
    () => parseServiceOptions(NAME, options, '/'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.field, field, e.message);
      assert.ok(e.code in ERROR_CODES);
      assert.ok(e.message.startsWith(`${LABEL}: ${field}: `) || e.message.startsWith(`${LABEL}: `), e.message);
      for (const p of parts) assert.ok(e.message.includes(p), `${JSON.stringify(p)} in ${e.message}`);
      return true;
    },
  );
}

test('service options: a config document, with the file\'s defaults', () => {
  const p = parseServiceOptions(NAME, { endpoints: ENDPOINTS, balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { retries: { retries: 1 } } }, '/');
  assert.equal(p.label, LABEL);
  assert.deepEqual(p.origin, { origin: `http://${NAME}`, authority: NAME });
  assert.equal(p.config.balancer.algorithm, 'ring-hash');
  assert.equal(p.config.key, 'header:x-tenant');
  assert.equal(p.config.proxy.retries.retries, 1);
  assert.deepEqual(p.config.endpoints, { kind: 'inline', specs: ENDPOINTS.map((e) => ({ ...e, weight: 1, zone: null, node: null, labels: {}, draining: false })) });
  assert.equal(p.keyFunction, null);
  const f = parseServiceOptions(NAME, { endpointsFile: 'pods.yaml', discovery: undefined }, '/etc/app');
  assert.deepEqual(f.config.endpoints, { kind: 'file', path: '/etc/app/pods.yaml' });
});

test('service options: a key function stands for the key of a keyed balancer', () => {
  const fn = (): string => 'k';
  const p = parseServiceOptions(NAME, { endpoints: ENDPOINTS, balancer: { algorithm: 'maglev' }, key: fn }, '/');
  assert.equal(p.keyFunction, fn);
  refuses({ endpoints: ENDPOINTS, key: fn }, 'key', 'is a function', 'p2c', 'ring-hash');
  refuses({ endpoints: ENDPOINTS, balancer: { algorithm: 'least-request' }, key: fn }, 'key', 'least-request');
});

test('service options: the config parser\'s own refusals, prefixed with the service', () => {
  refuses({ endpoints: ENDPOINTS, balancer: { algorithm: 'ring-hash' } }, 'key', 'is missing');
  refuses({ endpoints: ENDPOINTS, balancer: { algorithm: 'ring-hash', boundedLoad: 0.9 }, key: 'header:x' }, 'balancer.boundedLoad');
  refuses({ balancer: { algorithm: 'ring-hash' }, key: 'header:x' }, 'endpoints', 'is missing');
  refuses({ endpoints: ENDPOINTS, proxy: { retries: { retryOn: 'sometimes' } } }, 'proxy.retries.retryOn', 'sometimes');
  refuses({ endpoints: ENDPOINTS, balancers: {} }, 'balancers', 'did you mean balancer?');
  refuses({ endpoints: ENDPOINTS, colour: 'blue' }, 'colour', 'no such setting');
});

test('service options: the proxy\'s listener settings, json keys and non-objects are refused by name', () => {
  refuses({ endpoints: ENDPOINTS, listen: '0.0.0.0:8080' }, 'listen', 'a dispatcher does not have');
  refuses({ endpoints: ENDPOINTS, admin: '0.0.0.0:9901' }, 'admin');
  refuses({ endpoints: ENDPOINTS, workers: 2 }, 'workers');
  refuses({ endpoints: ENDPOINTS, logLevel: 'debug' }, 'logLevel');
  refuses({ endpoints: ENDPOINTS, proxy: { tls: { cert: 'a', key: 'b' } } }, 'proxy.tls');
  refuses({ endpoints: ENDPOINTS, proxy: { queue: { max: 1 } } }, 'proxy.queue');
  refuses({ endpoints: ENDPOINTS, proxy: { timeouts: { clientIdleMs: 5 } } }, 'proxy.timeouts.clientIdleMs');
  refuses({ endpoints: ENDPOINTS, balancer: { algorithm: 'ring-hash' }, key: 'json:account.id' }, 'key', 'does not read request bodies', 'function');
  refuses('ring-hash', LABEL, 'the fields of a config file');
  refuses(null, LABEL);
});
