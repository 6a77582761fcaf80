/**
 * The HTTP proxy of the parsed config, on a data plane built from the same config
 * (src/dataplane/create-data-plane.ts): the listener's TLS files, upstream TLS, limits, timeouts
 * and queue. The plane's owner closes it after the proxy. A reload gives the proxy a new plane and
 * the routing options of the new config (`routeOptions`).
 */
import type { Logger } from 'pino';
import type { ShardgateConfig } from '../config/config.js';
import { readPem, readUpstreamTls } from '../config/tls-files.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import { createDataPlane } from '../dataplane/create-data-plane.js';
import type { DataPlaneDeps } from '../dataplane/create-data-plane.js';
import type { RouteOptions } from './proxy.js';
import { ShardingProxy } from './proxy.js';
import type { RequestObserver } from './request-observer.js';

/** @throws ConfigError when a PEM file cannot be read or a limit is out of range */
export async function createProxy(config: ShardgateConfig, plane: DataPlane, logger: Logger, observer: RequestObserver | null = null): Promise<ShardingProxy> {
  const px = config.proxy;
  const tls = px.tls === null ? undefined : { cert: await readPem(px.tls.certFile, 'proxy.tls.cert'), key: await readPem(px.tls.keyFile, 'proxy.tls.key') };
  return new ShardingProxy({
    plane,
    ...(await routeOptions(config)),
    maxHeaderBytes: px.maxHeaderBytes,
    maxHeaderCount: px.maxHeaderCount,
    maxConnections: px.maxConnections,
    maxConcurrentStreams: px.maxConcurrentStreams,
    ...(tls === undefined ? {} : { tls }),
    logger,
    observer,
  });
}

/**
 * What the proxy routes with besides its plane, as `reconfigure` takes it.
 * @throws ConfigError when the upstream CA file cannot be read
 */
export async function routeOptions(config: ShardgateConfig): Promise<RouteOptions> {
  const px = config.proxy;
  return {
    endpointHeader: px.endpointHeader,
    timeouts: px.timeouts,
    maxBodyBuffer: px.maxBodyBuffer,
    maxBodyBytes: px.maxBodyBytes,
    maxUpstreamSessions: px.maxUpstreamSessions,
    queue: px.queue,
    upstreamTls: await readUpstreamTls(px.upstreamTls),
  };
}

/**
 * A configuration reload on one thread: builds a plane from `config`, gives it the endpoint set
 * `current` routes with, and swaps it into `proxy`; `current` is closed once no request is left
 * on it. Resolves to the new plane. A refusal closes what was built and changes nothing. From the
 * set's handover to the swap it runs synchronously, so no set from discovery falls between them.
 * @throws ConfigError when the config cannot build a plane, or the proxy cannot take it
 */
export async function swapPlane(proxy: ShardingProxy, current: DataPlane, config: ShardgateConfig, deps: DataPlaneDeps): Promise<DataPlane> {
  const options = await routeOptions(config);
  const fresh = createDataPlane(config, deps);
  let drained: Promise<void>;
  try {
    const set = current.current;
    if (set !== null) fresh.apply(set);
    drained = proxy.reconfigure(fresh, options);
  } catch (e) {
    await fresh.close();
    throw e;
  }
  void drained.then(() => current.close());
  return fresh;
}
