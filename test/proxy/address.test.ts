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
    assert.deepEqual(parseEndpointAddress(text), { host, port, origin, protocol: 'h1', tls: false }, text);
  }
});

test('parseEndpointAddress: the scheme chooses HTTP/1.1 or HTTP/2, over TCP or TLS', () => {
  const cases: [string, string, number, string, 'h1' | 'h2', boolean][] = [
    ['https://pod:8443', 'pod', 8443, 'https://pod:8443', 'h1', true],
    ['https://pod', 'pod', 443, 'https://pod:443', 'h1', true],
    ['h2c://127.0.0.1:50051', '127.0.0.1', 50051, 'http://127.0.0.1:50051', 'h2', false],
    ['H2C://[::1]:50051/', '::1', 50051, 'http://[::1]:50051', 'h2', false],
    ['h2://pod:8443', 'pod', 8443, 'https://pod:8443', 'h2', true],
    ['h2://pod', 'pod', 443, 'https://pod:443', 'h2', true],
  ];
  for (const [text, host, port, origin, protocol, tls] of cases) {
    assert.deepEqual(parseEndpointAddress(text), { host, port, origin, protocol, tls }, text);
  }
});

test('parseEndpointAddress: refusals name the field and the value', () => {
  const bad = ['', 'pod', 'pod:', ':8080', 'pod:0', 'pod:65536', 'pod:80a', '::1:8080', '[::1]', '[::1', '[nope]:80', 'h3://pod:443', 'h2c://pod:80/path', 'http://pod:80/path', 'http://pod:80?q', 'http://user@pod:80', 'bad_host:80', '-pod:80', 'tcp://pod:80'];
  for (const text of bad) {
    assert.throws(
      () => parseEndpointAddress(text, 'endpoints[3].address'),
      (err: unknown) => err instanceof ConfigError && err.code === 'SG_ERR_ENDPOINTS' && err.field === 'endpoints[3].address' && err.message.includes(JSON.stringify(text)),
      text,
    );
  }
});
