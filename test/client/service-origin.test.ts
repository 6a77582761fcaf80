/** Service names: host:port or an http(s) origin, turned into the origin requests carry and the authority pods are asked for. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServiceOrigin } from '../../src/client/service-origin.js';
import { ConfigError } from '../../src/errors.js';

test('service origin: host:port means http; the default port is left out as URL writes it', () => {
  assert.deepEqual(parseServiceOrigin('sharded-svc.ns.svc:8080', 'f'), { origin: 'http://sharded-svc.ns.svc:8080', authority: 'sharded-svc.ns.svc:8080' });
  assert.deepEqual(parseServiceOrigin('sharded-svc.ns.svc', 'f'), { origin: 'http://sharded-svc.ns.svc', authority: 'sharded-svc.ns.svc' });
  assert.deepEqual(parseServiceOrigin('Sharded-Svc.ns.svc:80', 'f'), { origin: 'http://sharded-svc.ns.svc', authority: 'sharded-svc.ns.svc' });
  assert.deepEqual(parseServiceOrigin('https://api.example:443/', 'f'), { origin: 'https://api.example', authority: 'api.example' });
  assert.deepEqual(parseServiceOrigin('HTTPS://api.example:8443', 'f'), { origin: 'https://api.example:8443', authority: 'api.example:8443' });
  assert.deepEqual(parseServiceOrigin('[::1]:9000', 'f'), { origin: 'http://[::1]:9000', authority: '[::1]:9000' });
});

test('service origin: other schemes, paths and bad hosts are refused, naming the field', () => {
  for (const [name, part] of [
    ['h2c://svc:80', 'h2c://'],
    ['http://svc:80/api', 'path'],
    ['svc:99999', '99999'],
    ['::1:80', 'IPv6'],
    ['', 'host is missing'],
  ] as const) {
    assert.throws(
      () => parseServiceOrigin(name, 'services["x"]'),
      (e: unknown) => e instanceof ConfigError && e.field === 'services["x"]' && e.message.includes(part) && e.message.includes('sharded-svc.ns.svc:8080'),
      name,
    );
  }
});
