import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDnsServer } from '../../../src/discovery/dns/dns-server.js';
import { ConfigError } from '../../../src/errors.js';

test('dns server: IPv4 and bracketed IPv6 with or without a port, port 53 by default', () => {
  assert.equal(parseDnsServer('127.0.0.1:5353'), '127.0.0.1:5353');
  assert.equal(parseDnsServer('10.96.0.10'), '10.96.0.10:53');
  assert.equal(parseDnsServer('[::1]:5353'), '[::1]:5353');
  assert.equal(parseDnsServer('[fd00::a]'), '[fd00::a]:53');
  assert.equal(parseDnsServer('fd00::a'), '[fd00::a]:53');
});

test('dns server: names and bad ports are ConfigErrors naming the field', () => {
  for (const [text, message] of [
    ['kube-dns.kube-system:53', /a host name cannot be used/],
    ['127.0.0.1:0', /port "0"/],
    ['127.0.0.1:', /port ""/],
    ['[::1]:x', /port "x"/],
    ['[127.0.0.1]:53', /IP address and port/],
    ['', /IP address and port/],
  ] as const) {
    assert.throws(
      () => parseDnsServer(text, 'dnsServer'),
      (e: unknown) => e instanceof ConfigError && e.field === 'dnsServer' && message.test(e.message),
      text,
    );
  }
});
