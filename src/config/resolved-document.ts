/**
 * A parsed configuration written back as a config file holds it, every default made explicit:
 * what `shardgate check` prints. It is itself a valid config file: parsing it gives the same
 * configuration (a test holds it to that), so a user may start from it.
 */
import type { ConfigDocument } from './schema.js';
import type { ShardgateConfig } from './config.js';
import { balancerDocument } from './balancer-document.js';
import { formatHostPort } from '../proxy/address.js';
import { describeEndpoints } from '../discovery/configured-source.js';

export function resolvedDocument(c: ShardgateConfig): ConfigDocument {
  const px = c.proxy;
  const e = c.endpoints;
  const endpoints: Pick<ConfigDocument, 'endpoints' | 'endpointsFile' | 'discovery' | 'podLabels' | 'dnsServer'> =
    e.kind === 'inline'
      ? { endpoints: e.specs.map((s) => ({ ...s, labels: { ...s.labels } })) }
      : e.kind === 'file'
        ? { endpointsFile: e.path }
        : e.kind === 'k8s'
          ? { discovery: describeEndpoints(e), ...(e.podLabels.length === 0 ? {} : { podLabels: [...e.podLabels] }) }
          : { discovery: describeEndpoints(e), ...(e.server === null ? {} : { dnsServer: e.server }) };
  const s = c.subsets;
  return {
    listen: formatHostPort(c.listen),
    admin: c.admin === null ? null : formatHostPort(c.admin),
    logLevel: c.logLevel,
    workers: c.workers,
    ...endpoints,
    handoffDelayMs: c.handoffDelayMs,
    balancer: balancerDocument(c.balancer),
    key: c.key,
    keyTransform: c.keyTransform,
    zone: c.zone,
    // Refused without a zone: written only with one.
    ...(c.zone === null ? {} : { zoneMinEndpoints: c.zoneMinEndpoints }),
    subsets: s === null ? null : { selectors: s.selectors.map((x) => ({ ...x })), fallback: s.fallback, default: s.defaultSubset === null ? null : { ...s.defaultSubset }, maxSubsets: s.maxSubsets },
    proxy: {
      endpointHeader: px.endpointHeader,
      maxHeaderBytes: px.maxHeaderBytes,
      maxHeaderCount: px.maxHeaderCount,
      maxBodyBuffer: px.maxBodyBuffer,
      maxBodyBytes: px.maxBodyBytes,
      maxConnections: px.maxConnections,
      maxConcurrentStreams: px.maxConcurrentStreams,
      maxUpstreamSessions: px.maxUpstreamSessions,
      maxInflight: px.maxInflight,
      queue: { ...px.queue },
      timeouts: { ...px.timeouts },
      ...(px.tls === null ? {} : { tls: { cert: px.tls.certFile, key: px.tls.keyFile } }),
      upstreamTls: { ...(px.upstreamTls.caFile === null ? {} : { ca: px.upstreamTls.caFile }), insecure: px.upstreamTls.insecure },
      retries: {
        retries: px.retries.retries,
        retryOn: [...px.retries.retryOn],
        nonIdempotent: px.retries.nonIdempotent,
        budgetPercent: px.retries.budget.budgetPercent,
        minRetriesPerSecond: px.retries.budget.minRetriesPerSecond,
        budgetWindowMs: px.retries.budget.budgetWindowMs,
      },
      outlier: px.outlier === null ? false : { ...px.outlier },
      healthCheck: px.healthCheck === null ? null : { ...px.healthCheck },
    },
  };
}
