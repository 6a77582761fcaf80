import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDnsTarget, parseDnsTarget } from '../../../src/discovery/dns/dns-target.js';
import { ConfigError } from '../../../src/errors.js';

test('dns target: dns:HOST:PORT gives the name and the port, lower-cased, without a final dot', () => {
  assert.deepEqual(parseDnsTarget('dns:Sharded-Svc.ns.svc.cluster.local.:8080'), { kind: 'dns', host: 'sharded-svc.ns.svc.cluster.local', port: 8080 });
});

test('dns target: srv:NAME keeps the underscore labels', () => {
  assert.deepEqual(parseDnsTarget('srv:_http._tcp.sharded-svc.ns.svc.cluster.local'), { kind: 'srv', name: '_http._tcp.sharded-svc.ns.svc.cluster.local' });
});

test('dns target: formatting gives the spec back', () => {
  for (const spec of ['dns:a.b:1', 'srv:_x._tcp.a.b']) assert.equal(formatDnsTarget(parseDnsTarget(spec)), spec);
});

test('dns target: bad specs are ConfigErrors naming the field and saying what to write', () => {
  const cases: [string, RegExp][] = [
    ['dns:sharded-svc', /give dns:HOST:PORT/],
    ['dns:sharded-svc:0', /port "0" must be an integer from 1 to 65535/],
    ['dns:sharded-svc:70000', /port "70000"/],
    ['dns:sharded-svc:http', /port "http"/],
    ['dns::8080', /DNS name is empty/],
    ['dns:a..b:8080', /"" is not a DNS label/],
    ['dns:-a.b:8080', /"-a" is not a DNS label/],
    ['srv:a b.c', /"a b" is not a DNS label/],
    [`srv:${'x'.repeat(64)}.c`, /is not a DNS label/],
    [`srv:${Array.from({ length: 60 }, () => 'abcd').join('.')}`, /more than DNS allows \(253\)/],
    ['k8s:ns/svc', /starts with dns: .* or srv:/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parseDnsTarget(spec, 'discovery'),
      (e: unknown) => e instanceof ConfigError && e.field === 'discovery' && message.test(e.message) && e.message.includes(spec),
      spec,
    );
  }
});
