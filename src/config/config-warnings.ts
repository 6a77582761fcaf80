/**
 * What is valid but surely wrong in a configuration, for `shardgate check`: each warning names the
 * setting, what it finds, and what to do. Only what can be known without running: the endpoints
 * are known for an inline list or an endpoints file, not for discovery (null then), and the
 * checks that need them are skipped.
 */
import type { EndpointSpec } from '../balancer/endpoint.js';
import { MAX_TABLE_SIZE, SMALL_SET_LIMIT, SMALL_TABLE_SIZE } from '../balancer/maglev.js';
import { parseOrdinal } from '../balancer/ordinal.js';
import { seatSteps } from '../balancer/seat-rendezvous.js';
import type { ShardgateConfig } from './config.js';
import { show } from './issues.js';

/** Names listed in a warning before "and N more". */
const LISTED = 5;

function list(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

export function configWarnings(config: ShardgateConfig, endpoints: readonly EndpointSpec[] | null): string[] {
  const out: string[] = [];
  const b = config.balancer;
  if (endpoints !== null && endpoints.length === 0) out.push('endpoints: the list is empty: every request is answered 503 until endpoints are added');
  if (b.algorithm === 'ordinal' && endpoints !== null) {
    const stray = endpoints.filter((e) => parseOrdinal(e.name) < 0).map((e) => e.name);
    if (stray.length > 0) {
      out.push(`balancer.algorithm is ordinal, but endpoint ${list(stray)} ${stray.length === 1 ? 'does' : 'do'} not end in -N (a StatefulSet ordinal, as in shard-3): ordinal routes keys to name-N only, so ${stray.length === 1 ? 'it gets' : 'they get'} no keys; name them so, or choose another algorithm`);
    }
  }
  if ((b.algorithm === 'ranges' || b.algorithm === 'lookup') && endpoints !== null) {
    const names = new Set(endpoints.map((e) => e.name));
    const owners = b.algorithm === 'ranges' ? b.ranges : b.entries;
    const field = b.algorithm === 'ranges' ? 'ranges' : 'entries';
    owners.forEach((o, i) => {
      if (!names.has(o.endpoint)) {
        out.push(`balancer.${field}[${i}].endpoint is ${show(o.endpoint)}, which is not an endpoint (known: ${list([...names])}): its keys ${b.onMissing === 'fail' ? 'are answered 503' : 'go to the next owner'} until it appears`);
      }
    });
  }
  if (config.zone !== null && endpoints !== null) {
    const zones = [...new Set(endpoints.flatMap((e) => (e.zone == null ? [] : [e.zone])))];
    if (!zones.includes(config.zone)) {
      out.push(`zone is ${show(config.zone)}, but no endpoint is in it (${zones.length === 0 ? 'none has a zone' : `their zones: ${list(zones)}`}): requests prefer no zone; check --zone or the endpoints' zone:`);
    }
  }
  if (config.subsets !== null && endpoints !== null) {
    for (const s of config.subsets.selectors) {
      if (!endpoints.some((e) => e.labels !== undefined && s.label in e.labels)) {
        out.push(`subsets: the selector for header ${s.header} reads label ${show(s.label)}, which no endpoint has: every request naming it gets the fallback (${config.subsets.fallback})`);
      }
    }
  }
  if (endpoints !== null && endpoints.length > 0 && endpoints.every((e) => e.draining === true)) {
    out.push('endpoints: every endpoint is draining: requests are answered 503');
  }
  if (b.algorithm === 'maglev' && b.tableSize === null && endpoints !== null && Math.abs(endpoints.length - (SMALL_SET_LIMIT + 0.5)) < 4) {
    out.push(
      `balancer.tableSize is not set and there are ${endpoints.length} endpoints: the table grows from ${SMALL_TABLE_SIZE} to ${MAX_TABLE_SIZE} slots past ${SMALL_SET_LIMIT} endpoints and shrinks back below, and either way almost every key moves; set tableSize to one of them to keep the mapping while the set scales`,
    );
  }
  if (b.algorithm === 'rendezvous' && b.table && endpoints !== null && endpoints.length > 0) {
    const { units, above, below } = seatSteps(endpoints.map((e) => e.weight ?? 1));
    const near = (edge: number): boolean => Math.abs(units - edge) <= Math.max(1, 0.1 * edge);
    const edge = near(above) ? above : near(below) ? below : null;
    if (edge !== null) {
      out.push(
        `balancer.table is true and the endpoints weigh ${units} units (weights over their common divisor): the table changes size between ${edge} and ${edge + 1} units, and most keys move when the set crosses it; leave room, or set table: false (the O(n) scan never re-maps)`,
      );
    }
  }
  const retries = config.proxy.retries.retries;
  if (endpoints !== null && retries > 0 && endpoints.length === 1) {
    out.push(`proxy.retries.retries is ${retries}, but there is one endpoint: a retry goes to another endpoint, so none is ever made`);
  }
  return out;
}
