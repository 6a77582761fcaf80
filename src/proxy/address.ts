/**
 * Addresses as people and discovery write them. `parseHostPort` reads `host:port` and `[v6]:port`
 * (the listen address, and the core of every endpoint address); `parseEndpointAddress` adds the
 * URL forms that choose how the proxy talks to the pod, and yields the origin its upstream pool
 * connects to:
 *
 * | address                 | to the pod                         |
 * |-------------------------|------------------------------------|
 * | `host:port`, `http://`  | HTTP/1.1 over TCP                  |
 * | `https://host:port`     | HTTP/1.1 over TLS                  |
 * | `h2c://host:port`       | HTTP/2 over TCP (prior knowledge)  |
 * | `h2://host:port`        | HTTP/2 over TLS (ALPN h2)          |
 *
 * Parsed when a config or an endpoint set arrives, never per request.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

export interface HostPort {
  /** A hostname or an IP address; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export type UpstreamProtocol = 'h1' | 'h2';

export interface UpstreamAddress extends HostPort {
  /** `http://host:port` or `https://host:port` (IPv6 in brackets): the origin of the endpoint's pool. */
  readonly origin: string;
  readonly protocol: UpstreamProtocol;
  readonly tls: boolean;
}

const SCHEMES: Readonly<Record<string, { protocol: UpstreamProtocol; tls: boolean; port: number }>> = {
  http: { protocol: 'h1', tls: false, port: 80 },
  https: { protocol: 'h1', tls: true, port: 443 },
  h2c: { protocol: 'h2', tls: false, port: 80 },
  h2: { protocol: 'h2', tls: true, port: 443 },
};

/** A parse that returns its refusal, so that the caller can name the field the text came from. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

// RFC 1123 labels: what Kubernetes accepts for Service and pod DNS names.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// URL parsers take a host whose last label is a number (decimal, or hex after 0x) for IPv4 (WHATWG
// URL's "ends in a number"): 1.2.3 becomes 1.2.0.3, 01.2.3.4 is octal, 300.0.0.1 no URL at all. No
// top-level domain is all digits (RFC 3696 section 2), so such a host must be a plain IPv4 address.
const NUMBER_LAST = /(?:^|\.)(?:\d+|0x[0-9a-f]*)$/i;
const PORT = /^\d{1,5}$/;
const FORMS = 'write host:port, [v6]:port, or a URL http://, https://, h2c:// (HTTP/2 cleartext) or h2:// (HTTP/2 over TLS) with host and port, for example 10.0.0.7:8080 or h2c://10.0.0.7:50051';

/**
 * `host:port` or `[v6]:port`. `minPort` is 0 where the kernel may choose (listen), 1 where a real
 * peer is meant; `defaultPort` allows the port to be left out (URL forms).
 */
export function parseHostPort(text: string, minPort: 0 | 1, defaultPort: number | null = null): Parsed<HostPort> {
  const refuse = (reason: string): Parsed<HostPort> => ({ ok: false, reason });
  let host: string;
  let portText: string | null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return refuse('the IPv6 address has no closing bracket: write [IPv6]:port, for example [::1]:8080');
    host = text.slice(1, close);
    if (isIP(host) !== 6) return refuse(`"${host}" in brackets is not an IPv6 address`);
    const after = text.slice(close + 1);
    if (after.length === 0) portText = null;
    else if (after.startsWith(':')) portText = after.slice(1);
    else return refuse('expected :port after the bracketed IPv6 address, for example [::1]:8080');
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? null : text.slice(colon + 1);
    if (host.includes(':')) return refuse('an IPv6 address needs brackets, for example [::1]:8080');
    if (host.length === 0) return refuse('the host is missing: write host:port, for example 0.0.0.0:8080');
    if (isIP(host) === 0 && NUMBER_LAST.test(host)) {
      return refuse(`"${host}" is not an IPv4 address (four numbers from 0 to 255, without leading zeros), and a hostname's last label cannot be a number`);
    }
    if (isIP(host) === 0 && !HOSTNAME.test(host)) return refuse(`"${host}" is neither an IP address nor a hostname`);
  }
  if (portText === null) {
    if (defaultPort === null) return refuse('the port is missing: write host:port, for example 127.0.0.1:8080');
    return { ok: true, value: { host, port: defaultPort } };
  }
  if (!PORT.test(portText)) return refuse(`the port "${portText}" is not a number from ${minPort} to 65535`);
  const port = Number(portText);
  if (port < minPort || port > 65535) return refuse(`the port ${port} is outside ${minPort} to 65535`);
  return { ok: true, value: { host, port } };
}

/** The address as people write it: brackets around IPv6. */
export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/**
 * @throws ConfigError SG_ERR_ENDPOINTS naming `field` and the value, with the accepted forms
 */
export function parseEndpointAddress(address: string, field = 'address'): UpstreamAddress {
  const fail = (why: string): never => {
    throw new ConfigError('SG_ERR_ENDPOINTS', field, `is ${JSON.stringify(address)}: ${why}`);
  };
  if (typeof address !== 'string' || address.length === 0) return fail(FORMS);
  let rest = address;
  let kind = SCHEMES.http!;
  let defaultPort: number | null = null;
  const scheme = rest.indexOf('://');
  if (scheme >= 0) {
    const name = rest.slice(0, scheme).toLowerCase();
    const known = SCHEMES[name];
    if (known === undefined) return fail(`the scheme ${name}:// is not supported: ${FORMS}`);
    kind = known;
    rest = rest.slice(scheme + 3);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
    if (/[/?#@]/.test(rest)) return fail(`a URL address holds only scheme, host and port, no path, query or user: ${FORMS}`);
    defaultPort = kind.port;
  }
  const r = parseHostPort(rest, 1, defaultPort);
  if (!r.ok) return fail(r.reason);
  const { host, port } = r.value;
  const zone = host.indexOf('%');
  if (zone >= 0) return fail(`an IPv6 zone (${host.slice(zone)}) cannot be part of an endpoint address, which the proxy dials as a URL: give a global or unique local IPv6 address`);
  const origin = `${kind.tls ? 'https' : 'http'}://${formatHostPort(r.value)}`;
  return Object.freeze({ host, port, origin, protocol: kind.protocol, tls: kind.tls });
}
