/**
 * The name of a managed service, as the dispatcher's `services` map spells it, turned into the
 * origin requests carry (undici's `opts.origin`, the URL's origin) and the authority the pods are
 * asked for. `sharded-svc.ns.svc:8080` is `http://sharded-svc.ns.svc:8080`; a scheme may be given
 * (`https://sharded-svc.ns.svc`). Parsed once, when the dispatcher is created.
 */
import { ConfigError } from '../errors.js';
import { formatHostPort, parseHostPort } from '../proxy/address.js';

export interface ServiceOrigin {
  /** `http://host:port` as WHATWG URL writes it (no default port): what requests to it carry. */
  readonly origin: string;
  /** `host[:port]` as URL writes it: the Host header and the TLS server name of its requests. */
  readonly authority: string;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

/**
 * @throws ConfigError naming `field` when the name is not `host[:port]` or `http(s)://host[:port]`
 */
export function parseServiceOrigin(name: string, field: string): ServiceOrigin {
  const forms = 'name a service host:port as requests address it, for example sharded-svc.ns.svc:8080, or http://HOST[:PORT] or https://HOST[:PORT]';
  const scheme = name.indexOf('://');
  const protocol = scheme < 0 ? 'http' : name.slice(0, scheme).toLowerCase();
  const defaultPort = DEFAULT_PORTS[protocol];
  if (defaultPort === undefined) throw new ConfigError('SG_ERR_CONFIG', field, `has the scheme ${protocol}://: ${forms}`);
  let rest = scheme < 0 ? name : name.slice(scheme + 3);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#@]/.test(rest)) throw new ConfigError('SG_ERR_CONFIG', field, `holds a path, query or user: ${forms}`);
  const r = parseHostPort(rest, 1, defaultPort);
  if (!r.ok) throw new ConfigError('SG_ERR_CONFIG', field, `${r.reason}; ${forms}`);
  const url = new URL(`${protocol}://${formatHostPort(r.value)}`);
  return Object.freeze({ origin: url.origin, authority: url.host });
}
