/**
 * The endpoint source a parsed config names: a watched file, read once before anything subscribes
 * so that a file that cannot be used fails the start (rather than serving 503s from an empty set),
 * or a fixed list.
 */
import type { EndpointsConfig } from '../config/config.js';
import type { EndpointSource } from './endpoint-source.js';
import { StaticFileSource } from './static-file.js';
import { StaticListSource } from './static-list.js';
import { DnsSource } from './dns/dns-source.js';
import { formatDnsTarget } from './dns/dns-target.js';
import { formatK8sDiscoverySpec } from './k8s/discovery-spec.js';
import { chooseClusterConnection } from './k8s/cluster-connection.js';
import { EndpointSliceSource } from './k8s/endpoint-slice-source.js';

export interface ConfiguredSource {
  readonly source: EndpointSource;
  /** The file's source, to re-read on SIGHUP; null for a fixed list. */
  readonly file: StaticFileSource | null;
}

/** @throws ConfigError naming the endpoints file when it cannot be read, parsed or validated */
export async function openEndpointSource(endpoints: EndpointsConfig): Promise<ConfiguredSource> {
  if (endpoints.kind === 'inline') return { source: new StaticListSource(endpoints.specs), file: null };
  // The first set of a discovered source arrives by subscription; serving waits for it.
  if (endpoints.kind === 'k8s') return { source: new EndpointSliceSource(endpoints.spec, chooseClusterConnection(), { podLabels: endpoints.podLabels }), file: null };
  if (endpoints.kind === 'dns') return { source: new DnsSource(endpoints.target, { server: endpoints.server }), file: null };
  const file = new StaticFileSource(endpoints.path);
  await file.load();
  return { source: file, file };
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
