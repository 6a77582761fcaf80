/**
 * The endpoint source a parsed config names: a watched file, read once before anything subscribes
 * so that a file that cannot be used fails the start (rather than serving 503s from an empty set),
 * a fixed list, or discovery; and what a failed connect to an endpoint should set off.
 */
import type { Logger } from 'pino';
import type { EndpointsConfig } from '../config/config.js';
import type { EndpointSource } from './endpoint-source.js';
import { StaticFileSource } from './static-file.js';
import { StaticListSource } from './static-list.js';
import { DnsSource } from './dns/dns-source.js';
import { DEFAULT_REFRESH_BOUNDS } from './dns/refresh-delay.js';
import { RefreshLimiter } from './refresh-limiter.js';
import { formatDnsTarget } from './dns/dns-target.js';
import { formatK8sDiscoverySpec } from './k8s/discovery-spec.js';
import { chooseClusterConnection } from './k8s/cluster-connection.js';
import { EndpointSliceSource } from './k8s/endpoint-slice-source.js';
import { PlannedHandoffSource } from './planned-handoff.js';

export interface ConfiguredSource {
  readonly source: EndpointSource;
  /** The file's source, to re-read on SIGHUP; null for a fixed list. */
  readonly file: StaticFileSource | null;
  /** The DNS source, to re-resolve when a pod's address stops answering; null for other sources. */
  readonly dns: DnsSource | null;
  /**
   * The planned hand-off delay (`handoffDelayMs`) over the source, which `source` is then; null
   * when there is none. The directory passes its announcements on.
   */
  readonly handoff: PlannedHandoffSource | null;
}

export interface SourceOptions {
  /** handoffDelayMs of the config: 0 (the default) applies every set at once. */
  readonly handoffDelayMs?: number;
}

/** @throws ConfigError naming the endpoints file when it cannot be read, parsed or validated */
export async function openEndpointSource(endpoints: EndpointsConfig, options: SourceOptions = {}): Promise<ConfiguredSource> {
  const opened = await openUndelayed(endpoints);
  const delayMs = options.handoffDelayMs ?? 0;
  if (delayMs === 0) return { ...opened, handoff: null };
  const handoff = new PlannedHandoffSource(opened.source, { delayMs });
  return { ...opened, source: handoff, handoff };
}

async function openUndelayed(endpoints: EndpointsConfig): Promise<Omit<ConfiguredSource, 'handoff'>> {
  if (endpoints.kind === 'inline') return { source: new StaticListSource(endpoints.specs), file: null, dns: null };
  // The first set of a discovered source arrives by subscription; serving waits for it.
  if (endpoints.kind === 'k8s') return { source: new EndpointSliceSource(endpoints.spec, chooseClusterConnection(), { podLabels: endpoints.podLabels }), file: null, dns: null };
  if (endpoints.kind === 'dns') {
    const dns = new DnsSource(endpoints.target, { server: endpoints.server });
    return { source: dns, file: null, dns };
  }
  const file = new StaticFileSource(endpoints.path);
  await file.load();
  return { source: file, file, dns: null };
}

/**
 * What a failed connect to an endpoint sets off (the proxy's `onConnectFailure`): with DNS
 * discovery, a re-resolution now, since the pod may be back at a new address long before the
 * record's TTL runs out; at most one per the re-resolution interval's lower bound however many
 * connects fail, each logged with the endpoint that asked last. Null when nothing is to be done:
 * a Kubernetes watch hears of a new address as soon as the API server does, and a list or a file
 * has no other address to offer.
 */
export function refreshOnConnectFailure(configured: ConfiguredSource, logger: Logger): RefreshLimiter | null {
  const dns = configured.dns;
  if (dns === null) return null;
  // refresh() never rejects: a failed resolution goes to the subscribers' onError.
  return new RefreshLimiter(() => void dns.refresh(), {
    minGapMs: DEFAULT_REFRESH_BOUNDS.minMs,
    onRefresh: (endpoint) => logger.info({ endpoint }, 'a connection to the endpoint failed: re-resolving now'),
  });
}

/** How the endpoints are found, for the "listening" log line. */
export function describeEndpoints(endpoints: EndpointsConfig): string {
  switch (endpoints.kind) {
    case 'inline':
      return 'inline';
    case 'file':
      return endpoints.path;
    case 'k8s':
      return formatK8sDiscoverySpec(endpoints.spec);
    case 'dns':
      return formatDnsTarget(endpoints.target);
  }
}
