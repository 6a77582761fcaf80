/**
 * Host and port parsing for `listen` (endpoint addresses are the proxy's to parse). Pure functions: they return a reason
 * for refusal instead of throwing, so the caller can name the field the text came from.
 */
import { isIP } from 'node:net';

export interface HostPort {
  /** A hostname or an IP address; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

// RFC 1123 labels: what Kubernetes accepts for Service and pod DNS names.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * `host:port` or `[v6]:port`. `minPort` is 0 where the kernel may choose (listen), 1 where a real
 * peer is meant.
 */
export function parseHostPort(text: string, minPort: 0 | 1): Parsed<HostPort> {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return { ok: false, reason: 'write [IPv6]:port, for example [::1]:8080' };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return { ok: false, reason: `"${host}" in brackets is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { ok: false, reason: 'the port is missing: write host:port, for example 127.0.0.1:8080' };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return { ok: false, reason: 'an IPv6 address needs brackets: [::1]:8080' };
    if (host.length === 0) return { ok: false, reason: 'the host is missing: write host:port, for example 0.0.0.0:8080' };
    if (isIP(host) === 0 && !HOSTNAME.test(host)) return { ok: false, reason: `"${host}" is neither an IP address nor a hostname` };
  }
  if (!/^\d{1,5}$/.test(portText)) return { ok: false, reason: `the port "${portText}" is not a number from ${minPort} to 65535` };
  const port = Number(portText);
  if (port < minPort || port > 65535) return { ok: false, reason: `the port ${port} is outside ${minPort} to 65535` };
  return { ok: true, value: { host, port } };
}

/** The listen address as people write it: brackets around IPv6. */
export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
