/**
 * One managed service's settings, read with the config file's own parser (`parseConfig`), so the
 * dispatcher takes the same fields, defaults and error messages as `shardgate serve`: a service is
 * a config document without the proxy's listeners (`listen`, `admin`, `workers`, `logLevel`, and
 * the settings of the proxy's client side). Messages are prefixed with the service
 * (`services["sharded-svc.ns.svc:8080"]: balancer.boundedLoad: ...`).
 *
 * The key is a key source spec as in the file (`header:x-tenant`, `cookie:`, `query:`, `path:`),
 * or a function of the request for keys a spec cannot name. `json:` keys are refused: the
 * dispatcher does not read request bodies, and the caller knows the key before it sends.
 */
import type { Dispatcher } from 'undici';
import { KEYED_ALGORITHMS } from '../balancer/factory.js';
import type { ShardgateConfig } from '../config/config.js';
import { parseConfig } from '../config/config.js';
import { show } from '../config/issues.js';
import type { Origin } from '../config/origin.js';
import { configError } from '../config/origin.js';
import type { ConfigDocument } from '../config/schema.js';
import type { ServiceOrigin } from './service-origin.js';
import { parseServiceOrigin } from './service-origin.js';

/**
 * Reads the key text of a request from its dispatch options (headers, path); null or undefined
 * for a request without a key. Called once per request, synchronously; it must not throw.
 */
export type KeyFunction = (request: Dispatcher.DispatchOptions) => string | null | undefined;

/** The config file's fields for one service; `key` may also be a function of the request. */
export type ServiceOptions = Omit<ConfigDocument, 'key' | 'listen' | 'admin' | 'workers' | 'logLevel'> & {
  readonly key?: string | KeyFunction | null;
};

export interface ParsedService {
  /** The name as given in `services`. */
  readonly name: string;
  /** `services["NAME"]`, the prefix of its errors. */
  readonly label: string;
  readonly origin: ServiceOrigin;
  readonly config: ShardgateConfig;
  /** The per-request key function; null: the config's key source (or no key). */
  readonly keyFunction: KeyFunction | null;
}

/** Settings of the proxy's own listeners and client connections: they mean nothing to a client. */
const PROXY_ONLY = ['listen', 'admin', 'workers', 'logLevel'] as const;
const PROXY_SECTION_ONLY = ['tls', 'endpointHeader', 'maxConnections', 'maxConcurrentStreams', 'maxHeaderCount', 'maxBodyBytes', 'maxBodyBuffer', 'maxUpstreamSessions', 'queue'] as const;
const PROXY_TIMEOUTS_ONLY = ['clientHeadersMs', 'clientIdleMs', 'clientBodyMs', 'streamIdleMs'] as const;

/**
 * Stands for a key function in the document parseConfig checks: a keyed balancer needs a key,
 * and a function is one. Never read: the function is.
 */
const FUNCTION_KEY_SPEC = 'header:x-shardgate-key-function';

/**
 * @param baseDir where a relative `endpointsFile` resolves
 * @throws ConfigError naming the service and the field
 */
export function parseServiceOptions(name: string, options: unknown, baseDir: string): ParsedService {
  const label = `services[${JSON.stringify(name)}]`;
  const origin: Origin = { file: label };
  const serviceOrigin = parseServiceOrigin(name, label);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError('SG_ERR_CONFIG', label, `is ${show(options)}: give the service's settings, the fields of a config file, for example { endpoints: [...], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' }`, {});
  }
  const doc = options as Record<string, unknown>;
  for (const field of PROXY_ONLY) refuseProxyOnly(doc[field], field, origin);
  const proxy = doc.proxy;
  if (typeof proxy === 'object' && proxy !== null) {
    const section = proxy as Record<string, unknown>;
    for (const field of PROXY_SECTION_ONLY) refuseProxyOnly(section[field], `proxy.${field}`, origin);
    const timeouts = section.timeouts;
    if (typeof timeouts === 'object' && timeouts !== null) {
      for (const field of PROXY_TIMEOUTS_ONLY) refuseProxyOnly((timeouts as Record<string, unknown>)[field], `proxy.timeouts.${field}`, origin);
    }
  }
  const key = doc.key;
  let keyFunction: KeyFunction | null = null;
  let input = doc;
  if (typeof key === 'function') {
    const algorithm = (doc.balancer as { algorithm?: unknown } | undefined)?.algorithm;
    if (!(KEYED_ALGORITHMS as readonly unknown[]).includes(algorithm)) {
      throw configError('SG_ERR_KEY_SOURCE', 'key', `is a function, but ${show(algorithm ?? 'p2c (the default)')} does not route by key: choose a keyed algorithm (${KEYED_ALGORITHMS.join(', ')}) or remove the key`, origin);
    }
    keyFunction = key as KeyFunction;
    input = { ...doc, key: FUNCTION_KEY_SPEC };
  } else if (typeof key === 'string' && key.startsWith('json:')) {
    throw configError('SG_ERR_KEY_SOURCE', 'key', `is ${show(key)}: the dispatcher does not read request bodies; use header:, cookie:, query: or path:, or give key as a function of the request`, origin);
  }
  const config = parseConfig(input, origin, baseDir);
  return { name, label, origin: serviceOrigin, config, keyFunction };
}

function refuseProxyOnly(value: unknown, field: string, origin: Origin): void {
  if (value === undefined) return;
  throw configError('SG_ERR_CONFIG', field, `is ${show(value)}, but it configures the proxy's listener or its clients, which a dispatcher does not have: remove it`, origin);
}
