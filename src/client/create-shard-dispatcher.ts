/**
 * `createShardDispatcher`: the client library's entry. Every service is read with the config
 * file's parser first (so a mistake in any of them is reported before anything opens), then all
 * are opened together; the dispatcher is returned once each has its first endpoint set, so that
 * its first request is routed, not refused. If one fails to open, the others are closed.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import { show } from '../config/issues.js';
import { ConfigError } from '../errors.js';
import { ShardDispatcher } from './shard-dispatcher.js';
import type { ParsedService, ServiceOptions } from './service-options.js';
import { parseServiceOptions } from './service-options.js';
import { ServiceTable } from './service-table.js';
import { ShardService } from './shard-service.js';

export interface ShardDispatcherOptions {
  /**
   * The managed services, by the `host:port` (or `http(s)://host[:port]` origin) requests address
   * them with; each with the settings of a shardgate config file (endpoints, endpointsFile or
   * discovery, balancer, key, keyTransform, zone, subsets, proxy.retries, proxy.outlier,
   * proxy.healthCheck, proxy.maxInflight, proxy.timeouts for the pods, proxy.upstreamTls).
   */
  readonly services: Readonly<Record<string, ServiceOptions>>;
  /** Options of the undici Agent that carries requests to every other origin. */
  readonly agent?: Agent.Options;
  /** Where discovery, endpoint changes and ejections are logged; default: warnings and errors, to stderr. */
  readonly logger?: Logger;
  /** How long to wait for each service's first endpoint set; default 10 000 ms. */
  readonly firstSetTimeoutMs?: number;
  /** Where a relative `endpointsFile` resolves; default: the working directory. */
  readonly baseDir?: string;
}

const DEFAULT_FIRST_SET_TIMEOUT_MS = 10_000;

/**
 * @throws ConfigError naming the service and field at fault, or the endpoint a first set refused
 * @throws ShardgateError SG_ERR_DISCOVERY when a service's first set does not arrive in time
 */
export async function createShardDispatcher(options: ShardDispatcherOptions): Promise<ShardDispatcher> {
  const given: unknown = options?.services;
  if (typeof given !== 'object' || given === null || Array.isArray(given) || Object.keys(given).length === 0) {
    throw new ConfigError('SG_ERR_CONFIG', 'services', `is ${show(given)}: name at least one service, for example { 'sharded-svc.ns.svc:8080': { discovery: 'dns:sharded-svc.ns.svc:8080', balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } }`);
  }
  const firstSetTimeoutMs = options.firstSetTimeoutMs ?? DEFAULT_FIRST_SET_TIMEOUT_MS;
  if (!Number.isInteger(firstSetTimeoutMs) || firstSetTimeoutMs < 1) {
    throw new ConfigError('SG_ERR_CONFIG', 'firstSetTimeoutMs', `is ${show(firstSetTimeoutMs)}: give whole milliseconds, at least 1`);
  }
  const baseDir = options.baseDir ?? process.cwd();
  const parsed: ParsedService[] = [];
  const origins = new Map<string, string>();
  for (const [name, service] of Object.entries(given as Record<string, unknown>)) {
    const p = parseServiceOptions(name, service, baseDir);
    const other = origins.get(p.origin.origin);
    if (other !== undefined) {
      throw new ConfigError('SG_ERR_CONFIG', p.label, `names the origin ${p.origin.origin}, as services[${JSON.stringify(other)}] does: give each service once`);
    }
    origins.set(p.origin.origin, name);
    parsed.push(p);
  }
  const logger = options.logger ?? pino({ level: 'warn' }, pino.destination({ dest: 2, sync: false }));
  const opened = await Promise.allSettled(parsed.map((p) => ShardService.open(p, { logger, firstSetTimeoutMs })));
  const services: ShardService[] = [];
  let failure: Error | null = null;
  for (const r of opened) {
    if (r.status === 'fulfilled') services.push(r.value);
    else failure ??= r.reason instanceof Error ? r.reason : new Error(String(r.reason));
  }
  if (failure !== null) {
    await Promise.all(services.map((s) => s.close(true)));
    throw failure;
  }
  return new ShardDispatcher(new Agent(options.agent), new ServiceTable(services));
}
