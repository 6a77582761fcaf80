/**
 * Endpoint addresses as discovery and config write them: `host:port`, `[v6]:port` or
 * `http://host[:port][/]`. Parsed when an endpoint set arrives, never per request, into the origin
 * that the endpoint's upstream pool connects to.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

export interface UpstreamAddress {
  /** Hostname or IP; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** `http://host:port` (IPv6 in brackets): the origin of the endpoint's pool. */
  readonly origin: string;
}

// RFC 1123 labels: what Kubernetes accepts for Service and pod DNS names.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const PORT = /^\d{1,5}$/;
const FORMS = 'write host:port, [v6]:port or http://host:port, for example 10.0.0.7:8080';

/**
 * @throws ConfigError SG_ERR_ENDPOINTS naming `field` and the value, with the accepted forms
 */
export function parseEndpointAddress(address: string, field = 'address'): UpstreamAddress {
  const shown = JSON.stringify(address);
  const fail = (why: string): never => {
    throw new ConfigError('SG_ERR_ENDPOINTS', field, `is ${shown}: ${why}`);
  };
  if (typeof address !== 'string' || address.length === 0) return fail(FORMS);
  let rest = address;
  let defaultPort: number | null = null;
  const scheme = rest.indexOf('://');
  if (scheme >= 0) {
    const name = rest.slice(0, scheme).toLowerCase();
    if (name !== 'http') return fail(`the scheme ${name}:// is not supported (plain HTTP/1.1 to pods): ${FORMS}`);
    rest = rest.slice(scheme + 3);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
    if (/[/?#@]/.test(rest)) return fail(`a URL address holds only scheme, host and port, no path, query or user: ${FORMS}`);
    defaultPort = 80;
  }
  let host: string;
  let portText: string | null;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return fail(`the IPv6 address has no closing bracket: ${FORMS}`);
    host = rest.slice(1, close);
    if (isIP(host) !== 6) return fail(`"${host}" in brackets is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after.length === 0) portText = null;
    else if (after.startsWith(':')) portText = after.slice(1);
    else return fail(`expected :port after the bracketed IPv6 address: ${FORMS}`);
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    portText = colon < 0 ? null : rest.slice(colon + 1);
    if (host.includes(':')) return fail(`an IPv6 address needs brackets, for example [::1]:8080`);
    if (host.length === 0) return fail(`the host is missing: ${FORMS}`);
    if (isIP(host) === 0 && !HOSTNAME.test(host)) return fail(`"${host}" is neither an IP address nor a hostname`);
  }
  let port: number;
  if (portText === null) {
    if (defaultPort === null) return fail(`the port is missing: ${FORMS}`);
    port = defaultPort;
  } else {
    if (!PORT.test(portText)) return fail(`the port "${portText}" is not a number from 1 to 65535`);
    port = Number(portText);
    if (port < 1 || port > 65535) return fail(`the port ${port} is outside 1 to 65535`);
  }
  const origin = isIP(host) === 6 ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  return Object.freeze({ host, port, origin });
}
