/**
 * The `--dns-server` value: the name server a DNS source asks instead of the system's, as an IP
 * address with an optional port (`10.96.0.10`, `127.0.0.1:5353`, `[::1]:5353`). Names are refused:
 * resolving the resolver would need a resolver.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../../errors.js';

/**
 * Validates and normalizes a server for `Resolver.setServers()`.
 * @throws ConfigError naming `field` and the value
 */
export function parseDnsServer(text: string, field = 'dnsServer'): string {
  let host: string;
  let portText: string | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1]!;
    portText = bracketed[2] ?? null;
    if (isIP(host) !== 6) throw invalid(text, field);
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? null : text.slice(colon + 1);
    if (isIP(host) !== 4) throw invalid(text, field);
  }
  if (portText === null) return isIP(host) === 6 ? `[${host}]:53` : `${host}:53`;
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65_535)) {
    throw new ConfigError('SG_ERR_CONFIG', field, `is "${text}": the port "${portText}" must be an integer from 1 to 65535`);
  }
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function invalid(text: string, field: string): ConfigError {
  return new ConfigError('SG_ERR_CONFIG', field, `is "${text}": give the name server's IP address and port, for example 10.96.0.10:53 or [::1]:5353 (a host name cannot be used)`);
}
