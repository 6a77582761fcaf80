/**
 * The DNS queries a DNS source makes, as an interface so that a source can be given any resolver;
 * `node:dns/promises`'s `Resolver` is one. Node's resolver keeps no answer cache, so every query
 * reaches the server and a re-resolution sees a change at once.
 */
import { Resolver } from 'node:dns/promises';
import type { RecordWithTtl, SrvRecord } from 'node:dns';

export interface DnsResolver {
  resolve4(host: string, options: { ttl: true }): Promise<RecordWithTtl[]>;
  resolve6(host: string, options: { ttl: true }): Promise<RecordWithTtl[]>;
  /** SRV answers come without their TTL from Node's resolver. */
  resolveSrv(name: string): Promise<SrvRecord[]>;
  /** Ends the queries under way (they fail with ECANCELLED). */
  cancel(): void;
}

export interface DnsResolverOptions {
  /** From `parseDnsServer()`; null for the system's servers (/etc/resolv.conf). */
  readonly server?: string | null;
  /** How long one query waits for an answer before it is tried again, then fails with ETIMEOUT. */
  readonly timeoutMs?: number;
  /** Attempts per query (per server). */
  readonly tries?: number;
}

export const DEFAULT_DNS_TIMEOUT_MS = 2_000;
export const DEFAULT_DNS_TRIES = 2;

export function createDnsResolver(options: DnsResolverOptions = {}): DnsResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS, tries: options.tries ?? DEFAULT_DNS_TRIES });
  if (options.server !== undefined && options.server !== null) resolver.setServers([options.server]);
  return resolver;
}
