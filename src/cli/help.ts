/**
 * Reference text shown by `--help`: the algorithms, key sources, key transforms, zones and subsets. A test checks that every
 * algorithm the factory knows is described here.
 */
import type { Algorithm } from '../balancer/factory.js';

export interface AlgorithmInfo {
  readonly keyed: boolean;
  readonly pick: string;
  readonly use: string;
}

export const ALGORITHM_INFO: Readonly<Record<Algorithm, AlgorithmInfo>> = {
  random: { keyed: false, pick: 'O(log n)', use: 'weighted random' },
  'round-robin': { keyed: false, pick: 'O(1)', use: 'smooth weighted round robin (nginx)' },
  'least-request': { keyed: false, pick: 'O(n)', use: 'fewest in flight, full scan' },
  p2c: { keyed: false, pick: 'O(1)', use: 'power of two choices on in-flight (the default)' },
  'peak-ewma': { keyed: false, pick: 'O(1)', use: 'two choices on latency x in-flight (Finagle, Linkerd)' },
  'ring-hash': { keyed: true, pick: 'O(log R)', use: 'consistent hash ring; only the keys of a pod that comes or goes move' },
  maglev: { keyed: true, pick: 'O(1)', use: 'Maglev table; fastest, moves a little more on change (more on large sets)' },
  rendezvous: { keyed: true, pick: 'O(n)', use: 'highest random weight; moves exactly the keys of the changed pod (O(1) with --rendezvous-table)' },
  jump: { keyed: true, pick: 'O(log n)', use: 'jump hash; ideal when a StatefulSet scales at its end' },
  ordinal: { keyed: true, pick: 'O(1)', use: 'key mod N to the pod named -<ordinal> (StatefulSet sharding)' },
  ranges: { keyed: true, pick: 'O(log r)', use: 'explicit key ranges per pod (balancer.ranges in the config file)' },
  lookup: { keyed: true, pick: 'O(log p)', use: 'exact keys and key prefixes to named pods (balancer.entries in the config file)' },
};

export function algorithmsHelp(): string {
  const names = Object.keys(ALGORITHM_INFO) as Algorithm[];
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => {
    const a = ALGORITHM_INFO[n];
    return `  ${n.padEnd(width)}  ${a.keyed ? 'keyed  ' : 'keyless'}  ${a.pick.padEnd(8)}  ${a.use}`;
  });
  return ['Balancers (--balancer):', ...lines].join('\n');
}

export const KEY_SOURCES_HELP = [
  'Key sources (--key), for keyed balancers:',
  '  header:NAME   a request header, e.g. header:x-affinity',
  '  cookie:NAME   a cookie',
  '  query:NAME    a query parameter',
  '  path:INDEX    a path segment, 0 for the first',
  '  json:PATH     a field of a JSON body, e.g. json:account.id or json:items.0.id (\\. for a dot in a name)',
  '',
  'Key transforms (--key-transform), applied to the key before hashing:',
  '  prefix:N              the first N characters',
  '  delimited:SEP:INDEX   field INDEX of the key split at SEP, e.g. delimited:-:0 (tenant42-user7 -> tenant42)',
  '  s2:LEVEL              a "lat,lng" key to its S2 cell at LEVEL 0..30, so nearby points share a pod',
].join('\n');

export const SERVE_EXAMPLE =
  'shardgate serve --listen 127.0.0.1:8080 --endpoints pod-0=127.0.0.1:9000,pod-1=127.0.0.1:9001 --balancer ring-hash --bounded-load 1.25 --key header:x-affinity';

export const DIRECTORY_EXAMPLE =
  'shardgate directory --listen 127.0.0.1:9090 --endpoints sharded-svc-0=10.0.0.10:8080,sharded-svc-1=10.0.0.11:8080,sharded-svc-2=10.0.0.12:8080 --balancer ring-hash --key header:x-account';

export const PLAN_EXAMPLE =
  'shardgate plan --endpoints sharded-svc-0=10.0.0.10:8080,sharded-svc-1=10.0.0.11:8080,sharded-svc-2=10.0.0.12:8080 --balancer ring-hash --key header:x-account --add sharded-svc-3';

export const LOCALITY_HELP = [
  'Zones (--zone NAME), for requests without a key:',
  "  prefer endpoints in this proxy's zone; when some are out, the same share of requests leaves the zone",
  '  (available own-zone weight / own-zone weight stays); when the zone is full (--max-inflight) or has fewer',
  '  than --zone-min-endpoints endpoints, every zone. Keyed requests keep their owners whatever the zone.',
  '',
  'Subsets (--subset HEADER=LABEL, repeatable), like Envoy\'s subset load balancer:',
  '  a request with HEADER: v goes to the endpoints labelled LABEL: v, each subset its own balancer (keys are',
  '  owned within a subset); no header: every endpoint; a value no endpoint has: --subset-fallback any (every',
  '  endpoint), fail (503 naming the label and value) or default (the --subset-default endpoints).',
].join('\n');
