import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseEndpointAddress } from '../../src/proxy/address.js';

test('parseEndpointAddress: host:port, [v6]:port and http:// URLs', () => {
  const cases: [string, string, number, string][] = [
    ['127.0.0.1:9000', '127.0.0.1', 9000, 'http://127.0.0.1:9000'],
    ['sharded-svc-2.sharded-svc.default.svc.cluster.local:8080', 'sharded-svc-2.sharded-svc.default.svc.cluster.local', 8080, 'http://sharded-svc-2.sharded-svc.default.svc.cluster.local:8080'],
    ['[::1]:9000', '::1', 9000, 'http://[::1]:9000'],
    ['[fd00::7]:1', 'fd00::7', 1, 'http://[fd00::7]:1'],
    ['http://10.0.0.7:8080', '10.0.0.7', 8080, 'http://10.0.0.7:8080'],
    ['http://10.0.0.7:8080/', '10.0.0.7', 8080, 'http://10.0.0.7:8080'],
    ['HTTP://pod:65535', 'pod', 65535, 'http://pod:65535'],
    ['http://pod', 'pod', 80, 'http://pod:80'],
    ['http://[::1]:9000', '::1', 9000, 'http://[::1]:9000'],
  ];
  for (const [text, host, port, origin] of cases) {
    assert.deepEqual(parseEndpointAddress(text), { host, port, origin }, text);
  }
});

test('parseEndpointAddress: refusals name the field and the value', () => {
  const bad = ['', 'pod', 'pod:', ':8080', 'pod:0', 'pod:65536', 'pod:80a', '::1:8080', '[::1]', '[::1', '[nope]:80', 'https://pod:443', 'http://pod:80/path', 'http://pod:80?q', 'http://user@pod:80', 'bad_host:80', '-pod:80', 'tcp://pod:80'];
  for (const text of bad) {
    assert.throws(
      () => parseEndpointAddress(text, 'endpoints[3].address'),
      (err: unknown) => err instanceof ConfigError && err.code === 'SG_ERR_ENDPOINTS' && err.field === 'endpoints[3].address' && err.message.includes(JSON.stringify(text)),
      text,
    );
  }
});
