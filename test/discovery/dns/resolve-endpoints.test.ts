import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDnsResolver } from '../../../src/discovery/dns/dns-resolver.js';
import { parseDnsTarget } from '../../../src/discovery/dns/dns-target.js';
import { DnsLookupError, resolveEndpoints } from '../../../src/discovery/dns/resolve-endpoints.js';
import { startDnsmasq } from '../../helpers/dnsmasq.js';

const SVC = 'sharded-svc.ns.svc.cluster.local';
const SRV = `_http._tcp.${SVC}`;
const pod = (i: number): string => `sharded-svc-${i}.${SVC}`;

function sorted<T extends { name: string }>(specs: readonly T[]): T[] {
  return [...specs].sort((a, b) => (a.name < b.name ? -1 : 1));
}

test('resolve: dns: gives one endpoint per A and AAAA address, named by address, with the TTL', async (t) => {
  const dns = await startDnsmasq(t, { hosts: { [SVC]: ['127.0.0.3', '127.0.0.2', '::1'] } }, { ttlSeconds: 7 });
  const resolver = createDnsResolver({ server: dns.server, timeoutMs: 1_000 });
  const r = await resolveEndpoints(resolver, parseDnsTarget(`dns:${SVC}:8080`));
  assert.deepEqual(sorted(r.specs), [
    { name: '127.0.0.2:8080', address: '127.0.0.2:8080' },
    { name: '127.0.0.3:8080', address: '127.0.0.3:8080' },
    { name: '[::1]:8080', address: '[::1]:8080' },
  ]);
  assert.equal(r.ttlSeconds, 7);
});

test('resolve: srv: names endpoints by the target pod, at its address and the SRV port', async (t) => {
  const dns = await startDnsmasq(t, {
    hosts: { [pod(0)]: ['127.0.0.10'], [pod(1)]: ['::1'], [pod(2)]: ['127.0.0.12'] },
    srv: { [SRV]: [0, 1, 2].map((i) => ({ target: pod(i), port: 9000 + i })) },
  });
  const resolver = createDnsResolver({ server: dns.server });
  const r = await resolveEndpoints(resolver, parseDnsTarget(`srv:${SRV}`));
  assert.deepEqual(sorted(r.specs), [
    { name: 'sharded-svc-0', address: '127.0.0.10:9000' },
    { name: 'sharded-svc-1', address: '[::1]:9001' },
    { name: 'sharded-svc-2', address: '127.0.0.12:9002' },
  ]);
  assert.equal(r.ttlSeconds, 1);
});

test('resolve: an SRV target that no longer exists is left out; if none is left, the resolution fails', async (t) => {
  const dns = await startDnsmasq(t, {
    hosts: { [pod(0)]: ['127.0.0.10'] },
    srv: { [SRV]: [{ target: pod(0), port: 9000 }, { target: pod(1), port: 9000 }] },
  });
  const resolver = createDnsResolver({ server: dns.server });
  const r = await resolveEndpoints(resolver, parseDnsTarget(`srv:${SRV}`));
  assert.deepEqual(r.specs, [{ name: 'sharded-svc-0', address: '127.0.0.10:9000' }]);

  await dns.setRecords({ srv: { [SRV]: [{ target: pod(1), port: 9000 }] } });
  await assert.rejects(resolveEndpoints(resolver, parseDnsTarget(`srv:${SRV}`)), (e: unknown) => e instanceof DnsLookupError && /no SRV target \(sharded-svc-1\.sharded-svc/.test(e.message));
});

test('resolve: two SRV targets with the same first label are refused rather than one dropped', async (t) => {
  const dns = await startDnsmasq(t, {
    hosts: { [pod(0)]: ['127.0.0.10'], 'sharded-svc-0.other.ns.svc.cluster.local': ['127.0.0.20'] },
    srv: { [SRV]: [{ target: pod(0), port: 9000 }, { target: 'sharded-svc-0.other.ns.svc.cluster.local', port: 9000 }] },
  });
  const resolver = createDnsResolver({ server: dns.server });
  await assert.rejects(resolveEndpoints(resolver, parseDnsTarget(`srv:${SRV}`)), (e: unknown) => e instanceof DnsLookupError && /two SRV records name the endpoint "sharded-svc-0"/.test(e.message));
});

test('resolve: NXDOMAIN, a missing SRV name and an absent server are DnsLookupErrors with the code', async (t) => {
  const dns = await startDnsmasq(t, { hosts: { [SVC]: ['127.0.0.2'] } });
  const resolver = createDnsResolver({ server: dns.server, timeoutMs: 200, tries: 1 });
  await assert.rejects(resolveEndpoints(resolver, parseDnsTarget('dns:gone.ns.svc.cluster.local:80')), (e: unknown) => e instanceof DnsLookupError && e.dnsCode === 'ENOTFOUND' && /gone\.ns\.svc\.cluster\.local: no such name/.test(e.message));
  await assert.rejects(resolveEndpoints(resolver, parseDnsTarget(`srv:${SRV}`)), (e: unknown) => e instanceof DnsLookupError && e.dnsCode === 'ENOTFOUND' && /SRV lookup failed \(ENOTFOUND/.test(e.message));
  await dns.stop();
  await assert.rejects(resolveEndpoints(resolver, parseDnsTarget(`dns:${SVC}:80`)), (e: unknown) => e instanceof DnsLookupError && (e.dnsCode === 'ECONNREFUSED' || e.dnsCode === 'ETIMEOUT'));
});

test('resolve: a family the server refuses is left out when the other answers; both refused fail the lookup', async (t) => {
  // Outside cluster.local the test server refuses the family it holds no records of (dnsmasq.ts).
  const v4 = 'sharded-svc.example.test';
  const v6 = 'sharded-svc-v6.example.test';
  const dns = await startDnsmasq(t, {
    hosts: { [v4]: ['127.0.0.2'], [v6]: ['::1'], [`sharded-svc-0.${v4}`]: ['127.0.0.10'] },
    srv: { [`_http._tcp.${v4}`]: [{ target: `sharded-svc-0.${v4}`, port: 9000 }] },
  });
  const resolver = createDnsResolver({ server: dns.server, timeoutMs: 500, tries: 1 });
  assert.deepEqual((await resolveEndpoints(resolver, parseDnsTarget(`dns:${v4}:8080`))).specs, [{ name: '127.0.0.2:8080', address: '127.0.0.2:8080' }], 'AAAA refused, A answered');
  assert.deepEqual((await resolveEndpoints(resolver, parseDnsTarget(`dns:${v6}:8080`))).specs, [{ name: '[::1]:8080', address: '[::1]:8080' }], 'A refused, AAAA answered');
  assert.deepEqual((await resolveEndpoints(resolver, parseDnsTarget(`srv:_http._tcp.${v4}`))).specs, [{ name: 'sharded-svc-0', address: '127.0.0.10:9000' }], 'an SRV target whose AAAA is refused');
  await assert.rejects(
    resolveEndpoints(resolver, parseDnsTarget('dns:unknown.example.test:8080')),
    (e: unknown) => e instanceof DnsLookupError && e.dnsCode === 'EREFUSED' && /^unknown\.example\.test: A lookup failed \(EREFUSED.*\) and AAAA lookup failed \(EREFUSED/.test(e.message),
  );
});
