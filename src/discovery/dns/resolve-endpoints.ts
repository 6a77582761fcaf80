/**
 * One resolution of a DNS target into endpoint specs, with the shortest TTL among the answers.
 *
 * `dns:HOST:PORT`: every A and AAAA address of HOST is one endpoint on PORT, named by its address
 * (A records carry no pod names). `srv:NAME`: every SRV target is one endpoint named by the
 * target's first label (`sharded-svc-2.sharded-svc.ns.svc.cluster.local` is `sharded-svc-2`, the
 * StatefulSet pod's name), at the target's address and the SRV port; so a pod that comes back with
 * a new IP keeps its name and its keys. SRV priority and weight are not used: which pod owns a key
 * is the balancer's choice, and every endpoint has weight 1.
 *
 * A family that has no records (NODATA) is normal, and so is one the server will not answer while
 * the other answers: dnsmasq without upstreams and some corporate resolvers refuse AAAA queries
 * (REFUSED), and a pod has one address anyway. A lookup that fails otherwise (NXDOMAIN for the
 * name, SERVFAIL, a timeout, or every family failing) fails the whole resolution, as does an answer
 * with no address at all: a partial or empty answer would take serving pods out, and the caller
 * keeps its last good set instead. An SRV target whose own name no longer exists is a pod that has
 * just gone and is left out.
 *
 * Costs 2 queries for `dns:`, 1 + 2 per distinct target for `srv:`, all in parallel.
 */
import { isIP } from 'node:net';
import type { RecordWithTtl } from 'node:dns';
import type { EndpointSpec } from '../../balancer/endpoint.js';
import { errorCode } from '../../errors.js';
import type { DnsResolver } from './dns-resolver.js';
import type { DnsTarget } from './dns-target.js';

export interface Resolution {
  /** Unsorted; `createEndpointSet()` sorts them. */
  readonly specs: readonly EndpointSpec[];
  /** The shortest TTL of the address records, in seconds; null when no answer carried one. */
  readonly ttlSeconds: number | null;
}

/** A resolution that failed; `message` names the query and what went wrong. */
export class DnsLookupError extends Error {
  /** Node's DNS error code (ENOTFOUND, ESERVFAIL, ETIMEOUT...), or null for an unusable answer. */
  readonly dnsCode: string | null;
  constructor(message: string, dnsCode: string | null, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DnsLookupError';
    this.dnsCode = dnsCode;
  }
}

/** @throws DnsLookupError when the target cannot be resolved into at least one endpoint */
export async function resolveEndpoints(resolver: DnsResolver, target: DnsTarget): Promise<Resolution> {
  return target.kind === 'dns' ? resolveAddresses(resolver, target.host, target.port) : resolveSrv(resolver, target.name);
}

async function resolveAddresses(resolver: DnsResolver, host: string, port: number): Promise<Resolution> {
  const found = await lookupAddresses(resolver, host);
  if (found === null) throw new DnsLookupError(`${host}: no such name (NXDOMAIN); a headless Service with no ready pods has none`, 'ENOTFOUND');
  if (found.length === 0) throw new DnsLookupError(`${host}: the name has no A or AAAA records`, 'ENODATA');
  const specs = found.map((r): EndpointSpec => {
    const address = hostPort(r.address, port);
    return { name: address, address };
  });
  return { specs, ttlSeconds: minTtl(found) };
}

async function resolveSrv(resolver: DnsResolver, name: string): Promise<Resolution> {
  let records;
  try {
    records = await resolver.resolveSrv(name);
  } catch (e) {
    const code = errorCode(e);
    throw new DnsLookupError(`${name}: SRV lookup failed (${describe(code, e)})`, code, e);
  }
  if (records.length === 0) throw new DnsLookupError(`${name}: the name has no SRV records`, 'ENODATA');
  const targets = [...new Set(records.map((r) => r.name.toLowerCase().replace(/\.$/, '')))];
  const addresses = new Map<string, RecordWithTtl[] | null>();
  await Promise.all(
    targets.map(async (t) => {
      addresses.set(t, await lookupAddresses(resolver, t));
    }),
  );
  const specs: EndpointSpec[] = [];
  const byName = new Map<string, string>();
  const ttls: RecordWithTtl[] = [];
  for (const r of records) {
    const target = r.name.toLowerCase().replace(/\.$/, '');
    const found = addresses.get(target) ?? null;
    // The pod has gone between the SRV answer and its own; the next resolution will agree.
    if (found === null || found.length === 0) continue;
    const podName = target.split('.')[0]!;
    // A pod has one address; should a target have several, the same one is always chosen.
    const chosen = [...found].sort(byFamilyThenAddress)[0]!;
    const address = hostPort(chosen.address, r.port);
    const earlier = byName.get(podName);
    if (earlier === address) continue;
    if (earlier !== undefined) {
      throw new DnsLookupError(`${name}: two SRV records name the endpoint "${podName}" (${earlier} and ${address}); endpoints are named by the first label of the SRV target, which must differ`, null);
    }
    byName.set(podName, address);
    specs.push({ name: podName, address });
    ttls.push(...found);
  }
  if (specs.length === 0) throw new DnsLookupError(`${name}: no SRV target (${targets.join(', ')}) has an A or AAAA record`, 'ENODATA');
  return { specs, ttlSeconds: minTtl(ttls) };
}

/**
 * The A and AAAA records of `host`: null when the name does not exist, empty when it has neither.
 * The family that answered is enough: the other's failure is ignored (see the header). Without an
 * answer, NXDOMAIN from either family says the name is gone whatever the other's failure: it is
 * about the name, not the type (RFC 8020).
 * @throws DnsLookupError when no family answered and one failed (SERVFAIL, timeout, refused)
 */
async function lookupAddresses(resolver: DnsResolver, host: string): Promise<RecordWithTtl[] | null> {
  const answers = await Promise.all([
    resolver.resolve4(host, { ttl: true }).then(
      (r) => r,
      (e: unknown) => e,
    ),
    resolver.resolve6(host, { ttl: true }).then(
      (r) => r,
      (e: unknown) => e,
    ),
  ]);
  let missing = false;
  const out: RecordWithTtl[] = [];
  const failures: { readonly type: string; readonly code: string | null; readonly error: unknown }[] = [];
  answers.forEach((answer, i) => {
    const type = i === 0 ? 'A' : 'AAAA';
    if (Array.isArray(answer)) {
      out.push(...(answer as RecordWithTtl[]));
      return;
    }
    const code = errorCode(answer);
    if (code === 'ENOTFOUND') missing = true;
    else if (code !== 'ENODATA') failures.push({ type, code, error: answer });
  });
  if (out.length > 0) return out;
  if (missing) return null;
  if (failures.length > 0) {
    const what = failures.map((f) => `${f.type} lookup failed (${describe(f.code, f.error)})`).join(' and ');
    throw new DnsLookupError(`${host}: ${what}`, failures[0]!.code, failures[0]!.error);
  }
  return out;
}

function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function byFamilyThenAddress(a: RecordWithTtl, b: RecordWithTtl): number {
  const fa = isIP(a.address);
  const fb = isIP(b.address);
  if (fa !== fb) return fa - fb;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

function minTtl(records: readonly RecordWithTtl[]): number | null {
  let min: number | null = null;
  for (const r of records) if (typeof r.ttl === 'number' && (min === null || r.ttl < min)) min = r.ttl;
  return min;
}

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'NXDOMAIN: no such name',
  ESERVFAIL: 'SERVFAIL: the name server failed',
  ETIMEOUT: 'no answer in time',
  ECONNREFUSED: 'the name server refused the connection',
  EREFUSED: 'REFUSED: the name server will not answer for this name',
};

function describe(code: string | null, e: unknown): string {
  if (code !== null) return DESCRIPTIONS[code] === undefined ? code : `${code}, ${DESCRIPTIONS[code]}`;
  return e instanceof Error ? e.message : String(e);
}
