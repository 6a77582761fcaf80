/**
 * The HTTP proxy of the parsed config, on a data plane built from the same config
 * (src/dataplane/create-data-plane.ts): the listener's TLS files, upstream TLS, limits, timeouts
 * and queue. The plane's owner closes it after the proxy.
 */
import type { Logger } from 'pino';
import type { ShardgateConfig } from '../config/config.js';
import { readPem, readUpstreamTls } from '../config/tls-files.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import { ShardingProxy } from './proxy.js';
import type { RequestObserver } from './request-observer.js';

/** @throws ConfigError when a PEM file cannot be read or a limit is out of range */
export async function createProxy(config: ShardgateConfig, plane: DataPlane, logger: Logger, observer: RequestObserver | null = null): Promise<ShardingProxy> {
  const px = config.proxy;
  const tls = px.tls === null ? undefined : { cert: await readPem(px.tls.certFile, 'proxy.tls.cert'), key: await readPem(px.tls.keyFile, 'proxy.tls.key') };
  const upstreamTls = await readUpstreamTls(px.upstreamTls);
  return new ShardingProxy({
    plane,
    endpointHeader: px.endpointHeader,
    timeouts: px.timeouts,
    maxHeaderBytes: px.maxHeaderBytes,
    maxBodyBuffer: px.maxBodyBuffer,
    maxHeaderCount: px.maxHeaderCount,
    maxConnections: px.maxConnections,
    maxBodyBytes: px.maxBodyBytes,
    maxConcurrentStreams: px.maxConcurrentStreams,
    maxUpstreamSessions: px.maxUpstreamSessions,
    queue: px.queue,
    upstreamTls,
    ...(tls === undefined ? {} : { tls }),
    logger,
    observer,
  });
}
