/**
 * The `serve` flags, each mapped onto a config field. Flags are not validated here: their values go
 * into the config document and through the same schema as the file, so a value is refused with
 * the same words wherever it was written, and the error names the flag it came from.
 */
import { ALGORITHMS, DEFAULT_KEYLESS, DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_PEAK_EWMA, DEFAULT_RING, KEYLESS_ALGORITHMS } from '../balancer/factory.js';
import type { FlagLayer } from '../config/config.js';
import { containerCpus } from '../cluster/container-cpus.js';
import { DEFAULTS, LOG_LEVELS, MAX_BODY_BUFFER_LIMIT, MAX_WORKERS, MIN_BODY_BUFFER } from '../config/defaults.js';
import { splitEndpointsFlag } from '../config/endpoints.js';
import { DEFAULT_OUTLIER } from '../balancer/outlier-detector.js';
import { DEFAULT_HEALTH_CHECK } from '../proxy/health-check.js';
import { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_HEADER_COUNT, DEFAULT_QUEUE, DEFAULT_UPSTREAM_SESSIONS } from '../proxy/limits.js';
import { DEFAULT_RETRY_OPTIONS, RETRY_CONDITIONS } from '../proxy/retry-options.js';
import { SUBSET_FALLBACKS } from '../balancer/subsets.js';
import { DEFAULT_ZONE_MIN_ENDPOINTS } from '../balancer/zone-aware.js';
import { configError } from '../config/origin.js';

export interface FlagSpec {
  /** Commander's syntax: `--bounded-load <c>`. */
  readonly syntax: string;
  /** The config field it sets: `balancer.boundedLoad`. */
  readonly field: string;
  /** `selectors`: repeatable HEADER=LABEL; `labels`: LABEL=VALUE,...; `list`: A,B,... */
  readonly kind: 'string' | 'number' | 'endpoints' | 'negated' | 'boolean' | 'selectors' | 'labels' | 'list';
  /** May be given more than once; the values are collected in order. */
  readonly repeatable?: boolean;
  readonly description: string;
  /** Shown by --help; the config's own default, never applied from here. */
  readonly shownDefault?: string | number | boolean;
}

const t = DEFAULTS.timeouts;

export const SERVE_FLAGS: readonly FlagSpec[] = [
  { syntax: '--listen <host:port>', field: 'listen', kind: 'string', description: 'address to listen on; port 0 picks a free one (the "listening" log line names it)', shownDefault: DEFAULTS.listen },
  { syntax: '--admin <host:port>', field: 'admin', kind: 'string', description: 'admin listener: the admin page at /, GET /v1/status (JSON), /healthz (liveness) and /readyz (readiness, JSON; ?strict also fails while discovery is stale or no endpoint is in rotation); off when absent' },
  { syntax: '--endpoints <list>', field: 'endpoints', kind: 'endpoints', description: 'fixed endpoints, NAME=HOST:PORT,... (the name owns keys: use pod names)' },
  { syntax: '--endpoints-file <file>', field: 'endpointsFile', kind: 'string', description: 'YAML or JSON list of endpoints, watched: changes apply without restart' },
  { syntax: '--discovery <source>', field: 'discovery', kind: 'string', description: 'discover endpoints: k8s:NAMESPACE/SERVICE[:PORT_NAME] (EndpointSlices, named by pod), dns:HOST:PORT (A/AAAA, named by address), srv:NAME (SRV, named by pod)' },
  { syntax: '--pod-labels <labels>', field: 'podLabels', kind: 'list', description: 'k8s: discovery: endpoints carry these labels of their pods (version,tier), for --subset; follows the pods of the Service\'s selector (needs list and watch on pods, get on services)' },
  { syntax: '--dns-server <host:port>', field: 'dnsServer', kind: 'string', description: "dns: and srv: discovery: the DNS server to ask (default: the system's)" },
  { syntax: '--balancer <name>', field: 'balancer.algorithm', kind: 'string', description: `algorithm: ${ALGORITHMS.join(', ')}`, shownDefault: DEFAULTS.algorithm },
  { syntax: '--key <source>', field: 'key', kind: 'string', description: 'where keyed balancers read the key: header:NAME, cookie:NAME, query:NAME, path:INDEX, json:PATH' },
  { syntax: '--key-transform <spec>', field: 'keyTransform', kind: 'string', description: 'rewrites the key before hashing: prefix:N, delimited:SEP:INDEX, s2:LEVEL; off when absent' },
  { syntax: '--bounded-load <c>', field: 'balancer.boundedLoad', kind: 'number', description: 'keyed: bounded loads factor c > 1, no endpoint above c x average in-flight (e.g. 1.25); off when absent' },
  { syntax: '--keyless <name>', field: 'balancer.keyless', kind: 'string', description: `keyed: serves requests without a key: ${KEYLESS_ALGORITHMS.join(', ')}`, shownDefault: DEFAULT_KEYLESS.algorithm },
  { syntax: '--replicas <n>', field: 'balancer.replicas', kind: 'number', description: 'ordinal: the StatefulSet replica count N (key mod N); default: highest ordinal seen + 1' },
  { syntax: '--on-missing <policy>', field: 'balancer.onMissing', kind: 'string', description: "ordinal, ranges, lookup: when a key's owner is missing, fail (503) or next (the next pod serves it)", shownDefault: 'fail' },
  { syntax: '--min-ring-size <n>', field: 'balancer.minRingSize', kind: 'number', description: 'ring-hash: fewest virtual nodes in the ring', shownDefault: DEFAULT_RING.minRingSize },
  { syntax: '--max-ring-size <n>', field: 'balancer.maxRingSize', kind: 'number', description: 'ring-hash: most virtual nodes in the ring', shownDefault: DEFAULT_RING.maxRingSize },
  { syntax: '--table-size <n>', field: 'balancer.tableSize', kind: 'number', description: 'maglev: table size, a prime (default: from the endpoint count; 65537 keeps the mapping of earlier versions)', shownDefault: DEFAULT_MAGLEV_TABLE_SIZE ?? 'from the endpoint count' },
  { syntax: '--rendezvous-table', field: 'balancer.table', kind: 'boolean', description: 'rendezvous: picks over a table of seats, O(1) instead of O(n); keys move once when the set crosses a table-size step' },
  { syntax: '--decay-ms <ms>', field: 'balancer.decayMs', kind: 'number', description: 'peak-ewma (as --balancer or --keyless): latency decay time', shownDefault: DEFAULT_PEAK_EWMA.decayMs },
  { syntax: '--default-rtt-ms <ms>', field: 'balancer.defaultRttMs', kind: 'number', description: 'peak-ewma: latency assumed before the first response', shownDefault: DEFAULT_PEAK_EWMA.defaultRttMs },
  { syntax: '--no-endpoint-header', field: 'proxy.endpointHeader', kind: 'negated', description: 'do not add x-shardgate-endpoint: <name> to responses (added by default)' },
  { syntax: '--connect-timeout-ms <ms>', field: 'proxy.timeouts.connectMs', kind: 'number', description: 'connecting to an endpoint', shownDefault: t.connectMs },
  { syntax: '--upstream-headers-timeout-ms <ms>', field: 'proxy.timeouts.upstreamHeadersMs', kind: 'number', description: "waiting for an endpoint's response headers (then 504); 0 disables", shownDefault: t.upstreamHeadersMs },
  { syntax: '--upstream-body-timeout-ms <ms>', field: 'proxy.timeouts.upstreamBodyMs', kind: 'number', description: "longest silence within an endpoint's response body; 0 disables", shownDefault: t.upstreamBodyMs },
  { syntax: '--upstream-idle-timeout-ms <ms>', field: 'proxy.timeouts.upstreamIdleMs', kind: 'number', description: "an idle keep-alive connection to an endpoint is closed after this: keep it below the pods' own keep-alive timeout (a pod's Keep-Alive: timeout=N shortens it to N - 2 s)", shownDefault: t.upstreamIdleMs },
  { syntax: '--client-headers-timeout-ms <ms>', field: 'proxy.timeouts.clientHeadersMs', kind: 'number', description: "waiting for a client's whole request head (then 408); 0 disables", shownDefault: t.clientHeadersMs },
  { syntax: '--client-idle-timeout-ms <ms>', field: 'proxy.timeouts.clientIdleMs', kind: 'number', description: 'closing an idle keep-alive client connection; 0 disables', shownDefault: t.clientIdleMs },
  { syntax: '--client-body-timeout-ms <ms>', field: 'proxy.timeouts.clientBodyMs', kind: 'number', description: "longest silence within a client's request body while the proxy reads it (then 408 and the connection or stream closes); 0 disables", shownDefault: t.clientBodyMs },
  { syntax: '--stream-idle-timeout-ms <ms>', field: 'proxy.timeouts.streamIdleMs', kind: 'number', description: 'a request (HTTP/1.1) or stream (HTTP/2) with no byte either way for this long is cut; 0 disables', shownDefault: t.streamIdleMs },
  { syntax: '--shutdown-grace-ms <ms>', field: 'proxy.timeouts.shutdownGraceMs', kind: 'number', description: 'on SIGTERM, time in-flight requests get to finish', shownDefault: t.shutdownGraceMs },
  { syntax: '--max-header-bytes <n>', field: 'proxy.maxHeaderBytes', kind: 'number', description: 'larger request headers get 431', shownDefault: DEFAULTS.maxHeaderBytes },
  { syntax: '--max-body-buffer <bytes>', field: 'proxy.maxBodyBuffer', kind: 'number', description: `json: keys: the largest request body read for its key, ${MIN_BODY_BUFFER} to ${MAX_BODY_BUFFER_LIMIT}`, shownDefault: DEFAULTS.maxBodyBuffer },
  { syntax: '--tls-cert <file>', field: 'proxy.tls.cert', kind: 'string', description: 'PEM certificate chain: the listener speaks TLS, ALPN choosing h2 or http/1.1 (with --tls-key); plain TCP otherwise, HTTP/1.1 and h2c' },
  { syntax: '--tls-key <file>', field: 'proxy.tls.key', kind: 'string', description: 'PEM private key of --tls-cert' },
  { syntax: '--upstream-ca <file>', field: 'proxy.upstreamTls.ca', kind: 'string', description: 'PEM CA bundle trusted for https:// and h2:// endpoints (default: the system CAs)' },
  { syntax: '--upstream-insecure', field: 'proxy.upstreamTls.insecure', kind: 'boolean', description: 'do not verify the certificates of https:// and h2:// endpoints' },
  { syntax: '--max-connections <n>', field: 'proxy.maxConnections', kind: 'number', description: 'client connections accepted at once; 0 for no limit', shownDefault: 0 },
  { syntax: '--max-body-bytes <n>', field: 'proxy.maxBodyBytes', kind: 'number', description: 'largest request body forwarded (then 413); 0 for no limit', shownDefault: 0 },
  { syntax: '--max-streams <n>', field: 'proxy.maxConcurrentStreams', kind: 'number', description: 'concurrent streams per HTTP/2 client connection', shownDefault: DEFAULT_MAX_CONCURRENT_STREAMS },
  { syntax: '--max-header-count <n>', field: 'proxy.maxHeaderCount', kind: 'number', description: 'header fields in a request head', shownDefault: DEFAULT_MAX_HEADER_COUNT },
  { syntax: '--upstream-sessions <n>', field: 'proxy.maxUpstreamSessions', kind: 'number', description: 'HTTP/2 sessions per h2c:// or h2:// endpoint', shownDefault: DEFAULT_UPSTREAM_SESSIONS },
  { syntax: '--max-inflight <n>', field: 'proxy.maxInflight', kind: 'number', description: "per-endpoint in-flight limit (HAProxy's maxconn): a full owner spills to the key's next owner; 0 for none", shownDefault: 0 },
  { syntax: '--queue-size <n>', field: 'proxy.queue.max', kind: 'number', description: 'requests that may wait when every candidate is at --max-inflight (then 503)', shownDefault: DEFAULT_QUEUE.max },
  { syntax: '--queue-timeout-ms <ms>', field: 'proxy.queue.timeoutMs', kind: 'number', description: 'longest wait for a free endpoint (then 503)', shownDefault: DEFAULT_QUEUE.timeoutMs },
  { syntax: '--retries <n>', field: 'proxy.retries.retries', kind: 'number', description: 'retries on another endpoint (the key\'s next owner); 0 disables', shownDefault: DEFAULT_RETRY_OPTIONS.retries },
  { syntax: '--retry-on <list>', field: 'proxy.retries.retryOn', kind: 'string', description: `when to retry: ${RETRY_CONDITIONS.join(', ')} (reset, gateway-error, 5xx and timeout only for idempotent methods)`, shownDefault: DEFAULT_RETRY_OPTIONS.retryOn.join(',') },
  { syntax: '--retry-non-idempotent', field: 'proxy.retries.nonIdempotent', kind: 'boolean', description: 'apply reset, gateway-error and 5xx retries to every method (the service tolerates replays)' },
  { syntax: '--no-outlier-detection', field: 'proxy.outlier', kind: 'negated', description: "do not eject endpoints that fail (on by default, Envoy's defaults: 5 consecutive 5xx, 30 s x ejections)" },
  { syntax: '--outlier-consecutive-5xx <n>', field: 'proxy.outlier.consecutive5xx', kind: 'number', description: 'outlier detection: 5xx responses in a row that eject an endpoint', shownDefault: DEFAULT_OUTLIER.consecutive5xx },
  { syntax: '--health-check <path>', field: 'proxy.healthCheck.path', kind: 'string', description: 'active health checks: GET this path on every endpoint (HTTP/1.1; 2xx and 3xx pass); off when absent' },
  { syntax: '--health-interval-ms <ms>', field: 'proxy.healthCheck.intervalMs', kind: 'number', description: 'active health checks: time between checks', shownDefault: DEFAULT_HEALTH_CHECK.intervalMs },
  { syntax: '--zone <name>', field: 'zone', kind: 'string', description: "this proxy's zone (topology.kubernetes.io/zone): requests without a key prefer endpoints in it, spilling to other zones in proportion to the zone's unavailable endpoints; keyed requests keep their owners; auto reads the zone label of the node NODE_NAME names (needs get on nodes); off when absent" },
  { syntax: '--zone-min-endpoints <n>', field: 'zoneMinEndpoints', kind: 'number', description: "--zone: fewest endpoints the own zone needs before requests prefer it (Envoy's min_cluster_size)", shownDefault: DEFAULT_ZONE_MIN_ENDPOINTS },
  { syntax: '--subset <header=label>', field: 'subsets.selectors', kind: 'selectors', repeatable: true, description: 'route a request carrying HEADER to the endpoints whose LABEL equals its value (x-version=version: x-version: v2 -> version: v2); repeat for more labels' },
  { syntax: '--subset-fallback <policy>', field: 'subsets.fallback', kind: 'string', description: `a request whose values match no subset: ${SUBSET_FALLBACKS.join(', ')} (every endpoint, 503, or the --subset-default endpoints)`, shownDefault: 'any' },
  { syntax: '--subset-default <labels>', field: 'subsets.default', kind: 'labels', description: 'the default subset for --subset-fallback default, LABEL=VALUE,...; requests without a subset header use it too' },
  { syntax: '--handoff-delay-ms <ms>', field: 'handoffDelayMs', kind: 'number', description: 'planned hand-off: a new ready pod or a pod marked terminating is announced on the directory\'s stream (prepare) and routed by this much later; a pod that is gone switches at once; keep it below the pods\' termination grace period', shownDefault: 0 },
  {
    syntax: '--workers <n>',
    field: 'workers',
    kind: 'number',
    description: `worker threads on one listening socket, sharing in-flight counts and round robin (1 to ${MAX_WORKERS}); default: the CPUs the container may use (its cgroup CPU limit, rounded up), else the cores`,
    // Read when --help shows it, not when this module loads.
    get shownDefault(): number {
      return containerCpus();
    },
  },
  { syntax: '--log-level <level>', field: 'logLevel', kind: 'string', description: `${LOG_LEVELS.join(', ')}`, shownDefault: DEFAULTS.logLevel },
  { syntax: '--max-connection-age-ms <ms>', field: 'proxy.timeouts.maxConnectionAgeMs', kind: 'number', description: "a client connection is ended gracefully after this, ±10% (HTTP/1.1 Connection: close on its next response, HTTP/2 GOAWAY), so that clients behind a connection-level balancer (a ClusterIP Service) spread over every proxy replica; gRPC's MAX_CONNECTION_AGE; 0 disables", shownDefault: t.maxConnectionAgeMs },
  { syntax: '--max-connection-age-grace-ms <ms>', field: 'proxy.timeouts.maxConnectionAgeGraceMs', kind: 'number', description: 'after the maximum age, time what is under way gets to finish before the connection is closed; 0: no bound', shownDefault: t.maxConnectionAgeGraceMs },
  { syntax: '--access-log <dest>', field: 'accessLog.destination', kind: 'string', description: 'access log, one JSON line per request: stdout or a file path (appended to); off when absent, switchable at run time with POST /v1/access-log on --admin' },
  { syntax: '--access-log-sample <rate>', field: 'accessLog.sampleRate', kind: 'number', description: 'the fraction of requests the access log writes, 0 to 1', shownDefault: 1 },
];

/** `--bounded-load <c>` -> `--bounded-load`. */
export function flagName(spec: FlagSpec): string {
  return spec.syntax.split(' ')[0]!;
}

/** The property commander stores a flag's value under: `--no-endpoint-header` -> `endpointHeader`. */
export function attributeName(spec: FlagSpec): string {
  const bare = flagName(spec).replace(/^--(no-)?/, '');
  return bare.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The flags the user gave (`given` holds only those, by attribute name) as a config layer. Numbers
 * that do not parse stay text, for the schema to refuse with the flag's name.
 * @throws ConfigError for an `--endpoints` entry that is not NAME=ADDRESS
 */
export function flagLayer(given: ReadonlyMap<string, unknown>): FlagLayer {
  const values: Record<string, unknown> = {};
  const flags = new Map<string, string>();
  for (const spec of SERVE_FLAGS) {
    const raw = given.get(attributeName(spec));
    if (raw === undefined) continue;
    const name = flagName(spec);
    let value: unknown = raw;
    if (spec.kind === 'number' && typeof raw === 'string') value = toNumber(raw);
    else if (spec.kind === 'endpoints' && typeof raw === 'string') value = splitEndpointsFlag(raw, name);
    else if (spec.kind === 'selectors') value = (Array.isArray(raw) ? raw : [raw]).map((entry, i) => selectorOf(String(entry), name, spec.field, i));
    else if (spec.kind === 'labels' && typeof raw === 'string') value = labelsOf(raw, name, spec.field);
    else if (spec.kind === 'list' && typeof raw === 'string') value = raw.split(',').map((entry) => entry.trim());
    setPath(values, spec.field, value);
    flags.set(spec.field, name);
  }
  // A balancer option given without --balancer leaves the algorithm to the file; if the file has
  // none either, the fix is the flag.
  if (!flags.has('balancer.algorithm') && [...flags.keys()].some((f) => f.startsWith('balancer.'))) {
    flags.set('balancer.algorithm', '--balancer');
  }
  return { values, flags };
}

/** `x-version=version` -> { header, label }; the subset validator checks both. */
function selectorOf(entry: string, flag: string, field: string, i: number): { header: string; label: string } {
  const eq = entry.indexOf('=');
  if (eq <= 0 || eq === entry.length - 1) {
    throw configError('SG_ERR_CONFIG', `${field}[${i}]`, `is ${JSON.stringify(entry)}: write HEADER=LABEL, for example --subset x-version=version (a request with x-version: v2 goes to the endpoints labelled version: v2)`, { flags: new Map([[field, flag]]) });
  }
  return { header: entry.slice(0, eq).trim(), label: entry.slice(eq + 1).trim() };
}

/** `version=v1,tier=gold` -> { version: 'v1', tier: 'gold' }. */
function labelsOf(text: string, flag: string, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      throw configError('SG_ERR_CONFIG', field, `has ${JSON.stringify(entry)}: write LABEL=VALUE entries separated by commas, for example version=v1`, { flags: new Map([[field, flag]]) });
    }
    out[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return out;
}

function toNumber(text: string): number | string {
  const s = text.trim();
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? Number(s) : text;
}

function setPath(target: Record<string, unknown>, field: string, value: unknown): void {
  const parts = field.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    const next = node[p];
    if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>;
    else node = node[p] = {};
  }
  node[parts[parts.length - 1]!] = value;
}
