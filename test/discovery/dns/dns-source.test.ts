import assert from 'node:assert/strict';
import type { RecordWithTtl, SrvRecord } from 'node:dns';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import type { EndpointSet } from '../../../src/balancer/endpoint.js';
import { createDnsResolver } from '../../../src/discovery/dns/dns-resolver.js';
import type { DnsResolver } from '../../../src/discovery/dns/dns-resolver.js';
import { DnsSource } from '../../../src/discovery/dns/dns-source.js';
import type { DnsSourceOptions } from '../../../src/discovery/dns/dns-source.js';
import { parseDnsTarget } from '../../../src/discovery/dns/dns-target.js';
import { DiscoveryError } from '../../../src/discovery/endpoint-source.js';
import { ConfigError } from '../../../src/errors.js';
import { startDnsmasq } from '../../helpers/dnsmasq.js';
import type { Dnsmasq, DnsRecords } from '../../helpers/dnsmasq.js';
import type { Delivery } from '../recorder.js';
import { names, Recorder } from '../recorder.js';

const SVC = 'sharded-svc.ns.svc.cluster.local';
const SRV = `_http._tcp.${SVC}`;
const pod = (i: number): string => `sharded-svc-${i}.${SVC}`;

/** The real resolver, counting the resolutions it serves (one A query is one resolution for `dns:`). */
class CountingResolver implements DnsResolver {
  readonly #inner: DnsResolver;
  resolutions = 0;
  #waiters: { readonly count: number; readonly resolve: () => void }[] = [];

  constructor(server: string) {
    this.#inner = createDnsResolver({ server, timeoutMs: 200, tries: 1 });
  }

  resolve4(host: string, options: { ttl: true }): Promise<RecordWithTtl[]> {
    return this.#inner.resolve4(host, options).finally(() => this.#count());
  }

  resolve6(host: string, options: { ttl: true }): Promise<RecordWithTtl[]> {
    return this.#inner.resolve6(host, options);
  }

  resolveSrv(name: string): Promise<SrvRecord[]> {
    return this.#inner.resolveSrv(name);
  }

  cancel(): void {
    this.#inner.cancel();
  }

  /** Resolves once `more` resolutions beyond the present count have been answered. */
  after(more: number, timeoutMs = 5_000): Promise<void> {
    const count = this.resolutions + more;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.resolutions} resolutions of ${count} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  #count(): void {
    this.resolutions++;
    const ready = this.#waiters.filter((w) => w.count <= this.resolutions);
    this.#waiters = this.#waiters.filter((w) => w.count > this.resolutions);
    // After the answer has gone through the source, not before.
    for (const w of ready) setImmediate(w.resolve);
  }
}

interface Fixture {
  readonly dns: Dnsmasq;
  readonly resolver: CountingResolver;
  source(spec: string, options?: DnsSourceOptions): DnsSource;
  watch(source: DnsSource): Recorder;
}

async function fixture(t: TestContext, records: DnsRecords, ttlSeconds = 1): Promise<Fixture> {
  const dns = await startDnsmasq(t, records, { ttlSeconds });
  const resolver = new CountingResolver(dns.server);
  const sources: DnsSource[] = [];
  t.after(() => {
    for (const s of sources) s.close();
  });
  return {
    dns,
    resolver,
    source(spec, options = {}) {
      const s = new DnsSource(parseDnsTarget(spec), { resolver, refresh: { minMs: 20, maxMs: 100 }, ...options });
      sources.push(s);
      return s;
    },
    watch: (source) => new Recorder().subscribe(source),
  };
}

async function nextSet(r: Recorder): Promise<EndpointSet> {
  return asSet(await r.next());
}

function asSet(d: Delivery): EndpointSet {
  assert.equal(d.kind, 'set', d.kind === 'error' ? d.error.message : '');
  return (d as { set: EndpointSet }).set;
}

/**
 * The first delivery after `change` began. Not `r.next()` after it: the source polls every few
 * milliseconds and may deliver before a slow `change` (a dnsmasq restart) has returned.
 */
async function deliveryAfter(r: Recorder, change: () => Promise<void>): Promise<Delivery> {
  const index = r.events.length;
  await change();
  return r.at(index);
}

function addresses(set: EndpointSet): string[] {
  return set.endpoints.map((e) => e.address);
}

test('dns source: the first set arrives after subscribe() returns, never inside it', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2'] } });
  const source = f.source(`dns:${SVC}:8080`);
  let returned = false;
  let early = false;
  const first = new Promise<EndpointSet>((resolve) => {
    source.subscribe(
      (set) => {
        early ||= !returned;
        resolve(set);
      },
      () => undefined,
    );
  });
  returned = true;
  assert.deepEqual(names(await first), ['127.0.0.2:8080']);
  assert.equal(early, false);
});

test('dns source: A records scale up and down; a re-resolution that changes nothing publishes nothing', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2', '127.0.0.3'] } });
  const source = f.source(`dns:${SVC}:8080`);
  const r = f.watch(source);
  assert.deepEqual(names(await nextSet(r)), ['127.0.0.2:8080', '127.0.0.3:8080']);

  const up = asSet(await deliveryAfter(r, () => f.dns.setRecords({ hosts: { [SVC]: ['127.0.0.2', '127.0.0.3', '127.0.0.4'] } })));
  assert.deepEqual(names(up), ['127.0.0.2:8080', '127.0.0.3:8080', '127.0.0.4:8080']);
  assert.equal(up.version, 2);

  assert.deepEqual(names(asSet(await deliveryAfter(r, () => f.dns.setRecords({ hosts: { [SVC]: ['127.0.0.4', '127.0.0.2'] } })))), ['127.0.0.2:8080', '127.0.0.4:8080']);

  const events = r.events.length;
  await f.resolver.after(3);
  assert.equal(r.events.length, events, 'the same answer again must not publish a set');
});

test('dns source: AAAA records on ::1 become [::1]:PORT endpoints beside the A ones', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2', '::1'] } });
  const r = f.watch(f.source(`dns:${SVC}:8080`));
  assert.deepEqual(addresses(await nextSet(r)), ['127.0.0.2:8080', '[::1]:8080']);
});

test('dns source: SRV names endpoints by pod; a pod restarted with a new IP keeps its name, only the address changes', async (t) => {
  const srv = (n: number): DnsRecords['srv'] => ({ [SRV]: Array.from({ length: n }, (_, i) => ({ target: pod(i), port: 9000 })) });
  const hosts = { [pod(0)]: ['127.0.0.10'], [pod(1)]: ['127.0.0.11'], [pod(2)]: ['127.0.0.12'] };
  const f = await fixture(t, { hosts, srv: srv(3) });
  // SRV answers carry no TTL here: the target's A records (1 s) set the pace, bounded by maxMs.
  const r = f.watch(f.source(`srv:${SRV}`));
  const first = await nextSet(r);
  assert.deepEqual(names(first), ['sharded-svc-0', 'sharded-svc-1', 'sharded-svc-2']);
  assert.deepEqual(addresses(first), ['127.0.0.10:9000', '127.0.0.11:9000', '127.0.0.12:9000']);

  const restarted = asSet(await deliveryAfter(r, () => f.dns.setRecords({ hosts: { ...hosts, [pod(1)]: ['127.0.0.21'] }, srv: srv(3) })));
  assert.deepEqual(names(restarted), names(first), 'a restart is not a membership change');
  assert.deepEqual(addresses(restarted), ['127.0.0.10:9000', '127.0.0.21:9000', '127.0.0.12:9000']);

  assert.deepEqual(names(asSet(await deliveryAfter(r, () => f.dns.setRecords({ hosts: { ...hosts, [pod(1)]: ['127.0.0.21'] }, srv: srv(2) })))), ['sharded-svc-0', 'sharded-svc-1']);
});

test('dns source: a failing resolution keeps the last set and reports once per problem, again after an answer', async (t) => {
  const good = { hosts: { [SVC]: ['127.0.0.2'] } };
  const f = await fixture(t, good);
  const source = f.source(`dns:${SVC}:8080`, { refresh: { minMs: 10, maxMs: 40 } });
  const r = f.watch(source);
  const first = await nextSet(r);

  const nx = await deliveryAfter(r, () => f.dns.setRecords({ hosts: { 'other.ns.svc.cluster.local': ['127.0.0.9'] } }));
  assert.ok(nx.kind === 'error' && nx.error instanceof DiscoveryError, 'an error delivery');
  assert.match(nx.error.message, /^dns:sharded-svc\.ns\.svc\.cluster\.local:8080: sharded-svc\.ns\.svc\.cluster\.local: no such name \(NXDOMAIN\).*; still serving the previous set \(version 1, 1 endpoints\)$/);
  assert.equal(nx.error.source, `dns:${SVC}:8080`);
  await f.resolver.after(3);
  assert.equal(r.events.length, 2, 'the same problem is reported once');
  assert.equal(source.current, first, 'the last good set stays');

  await f.dns.setRecords(good);
  await f.resolver.after(2);
  assert.equal(r.events.length, 2, 'the same endpoints again publish nothing');
  const again = await deliveryAfter(r, () => f.dns.setRecords({ hosts: {} }));
  assert.ok(again.kind === 'error' && /no such name/.test(again.error.message), 'after an answer, the same problem is news again');

  const down = await deliveryAfter(r, () => f.dns.stop());
  assert.ok(down.kind === 'error' && /A lookup failed \((ECONNREFUSED|ETIMEOUT)/.test(down.error.message), down.kind === 'error' ? down.error.message : down.kind);
  await f.resolver.after(2);
  assert.equal(r.events.length, 4, 'a server that stays away is reported once');
  assert.equal(source.current, first);
});

test('dns source: the TTL sets the pace, within the bounds', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2'] } }, 3_600);
  // An hour's TTL: only the upper bound makes the change visible.
  const capped = f.watch(f.source(`dns:${SVC}:8080`, { refresh: { minMs: 10, maxMs: 50 } }));
  await nextSet(capped);
  assert.deepEqual(names(asSet(await deliveryAfter(capped, () => f.dns.setRecords({ hosts: { [SVC]: ['127.0.0.3'] } })))), ['127.0.0.3:8080']);
});

test('dns source: a TTL of 0 is held to the lower bound, a short TTL is honoured below the upper one', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2'] } }, 0);
  const minMs = 100;
  const source = f.source(`dns:${SVC}:8080`, { refresh: { minMs, maxMs: 60_000 } });
  const r = f.watch(source);
  await nextSet(r);
  const start = performance.now();
  const before = f.resolver.resolutions;
  await f.resolver.after(3);
  const elapsed = performance.now() - start;
  const made = f.resolver.resolutions - before;
  assert.ok(made <= Math.floor(elapsed / minMs) + 1, `${made} resolutions in ${elapsed.toFixed(0)} ms with a ${minMs} ms lower bound`);
  source.close();

  // With the upper bound at a minute, a change is seen only because the 1 s TTL runs out.
  const g = await fixture(t, { hosts: { [SVC]: ['127.0.0.2'] } }, 1);
  const s = g.source(`dns:${SVC}:8080`, { refresh: { minMs: 10, maxMs: 60_000 } });
  const q = g.watch(s);
  await nextSet(q);
  const since = performance.now();
  const counted = g.resolver.resolutions;
  assert.deepEqual(names(asSet(await deliveryAfter(q, () => g.dns.setRecords({ hosts: { [SVC]: ['127.0.0.5'] } })))), ['127.0.0.5:8080']);
  const took = performance.now() - since;
  const resolved = g.resolver.resolutions - counted;
  assert.ok(resolved <= Math.floor(took / 1_000) + 1, `${resolved} resolutions in ${took.toFixed(0)} ms with a 1 s TTL: the TTL, not the lower bound, sets the pace`);
});

test('dns source: refresh() resolves at once and settles after the new set is delivered', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2'] } }, 3_600);
  const source = f.source(`dns:${SVC}:8080`, { refresh: { minMs: 10, maxMs: 60_000 } });
  const r = f.watch(source);
  await nextSet(r);
  await f.dns.setRecords({ hosts: { [SVC]: ['127.0.0.7'] } });
  await source.refresh();
  assert.equal(r.events.length, 2);
  assert.deepEqual(names(source.current!), ['127.0.0.7:8080']);
  assert.deepEqual(names(r.sets[1]!), ['127.0.0.7:8080']);
});

test('dns source: close() stops resolving and delivering', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2'] } }, 0);
  const own = new CountingResolver(f.dns.server);
  const source = f.source(`dns:${SVC}:8080`, { resolver: own, refresh: { minMs: 10, maxMs: 20 } });
  const r = f.watch(source);
  await nextSet(r);
  source.close();
  const made = own.resolutions;
  await f.dns.setRecords({ hosts: { [SVC]: ['127.0.0.8'] } });
  await source.refresh();
  // Another source on the same server shows that several of the closed one's intervals have passed.
  const other = f.watch(f.source(`dns:${SVC}:8080`, { refresh: { minMs: 10, maxMs: 20 } }));
  assert.deepEqual(names(await nextSet(other)), ['127.0.0.8:8080']);
  await f.resolver.after(3);
  assert.equal(own.resolutions, made, 'the closed source resolved again');
  assert.equal(r.events.length, 1);
});
test('dns source: load() resolves before anything subscribes, or fails with a ConfigError naming the source', async (t) => {
  const f = await fixture(t, { hosts: { [SVC]: ['127.0.0.2'] } });
  const source = f.source(`dns:${SVC}:8080`);
  assert.deepEqual(names(await source.load()), ['127.0.0.2:8080']);
  const r = f.watch(source);
  assert.equal(await nextSet(r), source.current);

  const missing = f.source('srv:_http._tcp.gone.ns.svc.cluster.local', { label: 'discovery' });
  await assert.rejects(missing.load(), (e: unknown) => e instanceof ConfigError && e.field === 'discovery' && /SRV lookup failed \(ENOTFOUND.*--dns-server/.test(e.message));
});
