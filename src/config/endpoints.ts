/**
 * Endpoint lists from the three places they are written: the config file's `endpoints:`, a
 * separate endpoints file (watched by discovery), and the `--endpoints NAME=ADDR,...` flag. All
 * three end in the same schema and the same `createEndpointSet` checks, so a list means the same
 * thing wherever it was written.
 */
import { createEndpointSet } from '../balancer/endpoint.js';
import type { EndpointSet } from '../balancer/endpoint.js';
import { ConfigError } from '../errors.js';
import { describeIssue, show, zodErrorMap } from './issues.js';
import type { Origin } from './origin.js';
import { attribute, configError } from './origin.js';
import { endpointListSchema } from './schema.js';
import { parseYaml } from './yaml.js';

/**
 * Validates a list of endpoint specs (names, addresses, weights, duplicates) written at `field`.
 * @throws ConfigError naming `field[i].name` and so on, attributed to `origin`
 */
export function parseEndpointList(data: unknown, field: string, origin: Origin, version = 0): EndpointSet {
  const r = endpointListSchema.safeParse(data, { reportInput: true, error: zodErrorMap });
  if (!r.success) {
    const first = r.error.issues[0]!;
    const { field: sub, detail } = describeIssue(first);
    throw configError('SG_ERR_ENDPOINTS', field + (sub.startsWith('[') || sub === '' ? sub : `.${sub}`), detail, origin);
  }
  try {
    return createEndpointSet(r.data, version, field);
  } catch (e) {
    if (e instanceof ConfigError) throw attribute(e, origin);
    throw e;
  }
}

/**
 * The text of an endpoints file: a YAML or JSON list of endpoints, bare or under `endpoints:`.
 * An empty document is refused: a file caught half-written must not empty the set.
 * @throws ConfigError naming the file, the field and the value
 */
export function parseEndpointsText(text: string, file: string, version = 0): EndpointSet {
  const data = parseYaml(text, file, 'SG_ERR_ENDPOINTS');
  const origin: Origin = { file };
  const list = Array.isArray(data) ? data : typeof data === 'object' && data !== null ? (data as { endpoints?: unknown }).endpoints : undefined;
  if (Array.isArray(list) && list.length === 0) {
    // Refused like an empty document: a save caught half-way must not take every pod out.
    throw configError('SG_ERR_ENDPOINTS', 'endpoints', 'is an empty list: an endpoints file must name at least one endpoint; to take every endpoint out of rotation, mark them draining: true', origin);
  }
  if (Array.isArray(data)) return parseEndpointList(data, 'endpoints', origin, version);
  if (typeof data === 'object' && data !== null) {
    const keys = Object.keys(data);
    const extra = keys.find((k) => k !== 'endpoints');
    if (extra !== undefined) {
      throw configError('SG_ERR_ENDPOINTS', extra, `is set, but an endpoints file holds only "endpoints:" (or a bare list)`, origin);
    }
    return parseEndpointList((data as { endpoints?: unknown }).endpoints, 'endpoints', origin, version);
  }
  throw configError('SG_ERR_ENDPOINTS', 'endpoints', `${data === null ? 'is empty' : `is ${show(data)}`}: the file must hold a list of endpoints ({name, address, weight?, zone?, node?, labels?, draining?}), bare or under "endpoints:"`, origin);
}

/**
 * `pod-0=127.0.0.1:9000,pod-1=127.0.0.1:9001` as raw specs; addresses and names are checked later
 * with every other field. Only the shape of each entry is checked here.
 * @throws ConfigError naming `flag` and the entry
 */
export function splitEndpointsFlag(text: string, flag: string): { name: string; address: string }[] {
  const origin: Origin = { flags: new Map([['endpoints', flag]]) };
  const entries = text.split(',').map((s) => s.trim());
  return entries.map((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      throw configError('SG_ERR_ENDPOINTS', `endpoints[${i}]`, `is ${show(entry)}: write NAME=HOST:PORT entries separated by commas, for example pod-0=127.0.0.1:9000,pod-1=127.0.0.1:9001`, origin);
    }
    return { name: entry.slice(0, eq), address: entry.slice(eq + 1) };
  });
}
