/**
 * What a DNS source resolves, from its spec: `dns:HOST:PORT` (the A and AAAA records of a headless
 * Service, each address one endpoint on PORT) or `srv:NAME` (the SRV records of a headless Service,
 * whose targets are the StatefulSet pods' own names, so endpoints keep their pod names).
 */
import { ConfigError } from '../../errors.js';

export type DnsTarget =
  | { readonly kind: 'dns'; readonly host: string; readonly port: number }
  | { readonly kind: 'srv'; readonly name: string };

/** RFC 1035 section 2.3.4: at most 63 octets a label, 253 a name (without the final dot). */
const MAX_LABEL = 63;
const MAX_NAME = 253;
/** Letters, digits, hyphens, and underscores for SRV's `_service._proto` labels (RFC 2782). */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/**
 * Parses `dns:HOST:PORT` or `srv:NAME`. A trailing dot on the name is allowed and dropped.
 * @throws ConfigError naming `field` and the value
 */
export function parseDnsTarget(text: string, field = 'discovery'): DnsTarget {
  if (text.startsWith('dns:')) {
    const rest = text.slice('dns:'.length);
    const colon = rest.lastIndexOf(':');
    if (colon < 0) {
      throw new ConfigError('SG_ERR_CONFIG', field, `is "${text}": give dns:HOST:PORT, for example dns:sharded-svc.ns.svc.cluster.local:8080`);
    }
    const host = checkName(rest.slice(0, colon), text, field, 'dns:sharded-svc.ns.svc.cluster.local:8080');
    const portText = rest.slice(colon + 1);
    const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65_535)) {
      throw new ConfigError('SG_ERR_CONFIG', field, `is "${text}": the port "${portText}" must be an integer from 1 to 65535 (the pods' port; A records carry none)`);
    }
    return { kind: 'dns', host, port };
  }
  if (text.startsWith('srv:')) {
    const name = checkName(text.slice('srv:'.length), text, field, 'srv:_http._tcp.sharded-svc.ns.svc.cluster.local');
    return { kind: 'srv', name };
  }
  throw new ConfigError('SG_ERR_CONFIG', field, `is "${text}": a DNS source starts with dns: (A/AAAA records, dns:HOST:PORT) or srv: (SRV records, srv:NAME)`);
}

/** The spec again, for messages and logs. */
export function formatDnsTarget(target: DnsTarget): string {
  return target.kind === 'dns' ? `dns:${target.host}:${target.port}` : `srv:${target.name}`;
}

function checkName(raw: string, text: string, field: string, example: string): string {
  const name = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (name.length === 0) throw new ConfigError('SG_ERR_CONFIG', field, `is "${text}": the DNS name is empty; for example ${example}`);
  if (name.length > MAX_NAME) {
    throw new ConfigError('SG_ERR_CONFIG', field, `is "${text}": the DNS name is ${name.length} characters long, more than DNS allows (${MAX_NAME})`);
  }
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > MAX_LABEL || !LABEL.test(label)) {
      throw new ConfigError(
        'SG_ERR_CONFIG',
        field,
        `is "${text}": "${label}" is not a DNS label (1 to ${MAX_LABEL} letters, digits, hyphens or underscores, not starting or ending with a hyphen); for example ${example}`,
      );
    }
  }
  return name.toLowerCase();
}
