import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseEndpointAddress, parseHostPort } from '../../src/proxy/address.js';

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

test('parseEndpointAddress: a host that reads as a number is a dotted-quad IPv4 address or nothing', () => {
  // URL parsers take a host whose last label is a number as IPv4 (WHATWG URL): 1.2.3 would be
  // 1.2.0.3 and 01.2.3.4 octal, 300.0.0.1 no URL at all.
  const refused: [string, RegExp][] = [
    ['300.0.0.1:9001', /is "300\.0\.0\.1:9001": "300\.0\.0\.1" is not an IPv4 address \(four numbers from 0 to 255, without leading zeros\), and a hostname's last label cannot be a number/],
    ['10.0.0.256:80', /"10\.0\.0\.256" is not an IPv4 address/],
    ['1.2.3:80', /"1\.2\.3" is not an IPv4 address/],
    ['01.2.3.4:80', /"01\.2\.3\.4" is not an IPv4 address/],
    ['0x7f.0.0.1:80', /"0x7f\.0\.0\.1" is not an IPv4 address/],
    ['pod.0x10:80', /"pod\.0x10" is not an IPv4 address/],
    ['sharded-svc.123:80', /"sharded-svc\.123" is not an IPv4 address/],
    ['4294967295:80', /"4294967295" is not an IPv4 address/],
    ['h2c://300.0.0.1:50051', /"300\.0\.0\.1" is not an IPv4 address/],
    ['[fe80::1%eth0]:80', /is "\[fe80::1%eth0\]:80": an IPv6 zone \(%eth0\) cannot be part of an endpoint address, which the proxy dials as a URL: give a global or unique local IPv6 address/],
    ['http://[fe80::1%eth0]:80', /an IPv6 zone \(%eth0\) cannot be part/],
  ];
  for (const [text, message] of refused) {
    assert.throws(
      () => parseEndpointAddress(text, 'endpoints[0].address'),
      (err: unknown) => err instanceof ConfigError && err.code === 'SG_ERR_ENDPOINTS' && err.field === 'endpoints[0].address' && message.test(err.message),
      text,
    );
  }
  for (const text of ['1.a:80', 'pod-1e3:80', '0.0.0.0:80', '255.255.255.255:80', 'a1.b2:80']) assert.equal(parseEndpointAddress(text).origin, `http://${text}`, text);
});

test('parseHostPort: a listen host that reads as a number must be an IPv4 address too', () => {
  assert.deepEqual(parseHostPort('1.2.3:8080', 0), { ok: false, reason: '"1.2.3" is not an IPv4 address (four numbers from 0 to 255, without leading zeros), and a hostname\'s last label cannot be a number' });
  assert.deepEqual(parseHostPort('0.0.0.0:0', 0), { ok: true, value: { host: '0.0.0.0', port: 0 } });
});
