/**
 * Configuration: unknown input (a YAML file, flags, or both) parsed once into typed values. Nothing
 * past this module looks at raw config; it switches on `balancer.algorithm` and
 * `endpoints.kind`. Flags override the file field by field; a list (endpoints, ranges) is replaced
 * whole, and an endpoint list from one layer replaces an endpoints file from the other.
 *
 * Every refusal is a ConfigError naming the field path, the value and what is allowed, prefixed
 * with the flag or file the value came from.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { specOf } from '../balancer/endpoint.js';
import type { EndpointSpec } from '../balancer/endpoint.js';
import { createBalancer, DEFAULT_KEYLESS, KEYED_ALGORITHMS, DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_PEAK_EWMA, DEFAULT_RING } from '../balancer/factory.js';
import type { BalancerConfig, KeyedConfig, KeylessConfig } from '../balancer/factory.js';
import type { LookupEntry } from '../balancer/lookup.js';
import { ManualClock } from '../balancer/clock.js';
import type { LoadBoardOptions } from '../balancer/load-board.js';
import { seededRng } from '../balancer/rng.js';
import { ConfigError } from '../errors.js';
import type { HostPort } from '../proxy/address.js';
import { parseHostPort } from '../proxy/address.js';
import type { OutlierOptions } from '../balancer/outlier-detector.js';
import type { DnsTarget } from '../discovery/dns/dns-target.js';
import { parseDnsTarget } from '../discovery/dns/dns-target.js';
import { parseDnsServer } from '../discovery/dns/dns-server.js';
import type { K8sDiscoverySpec } from '../discovery/k8s/discovery-spec.js';
import { parseK8sDiscoverySpec } from '../discovery/k8s/discovery-spec.js';
import { validateOutlierOptions } from '../balancer/outlier-detector.js';
import type { SubsetOptions } from '../balancer/subsets.js';
import { DEFAULT_MAX_SUBSETS, validateSubsetOptions } from '../balancer/subsets.js';
import { DEFAULT_ZONE_MIN_ENDPOINTS } from '../balancer/zone-aware.js';
import type { RetryBudgetOptions } from '../balancer/retry-budget.js';
import { validateRetryBudgetOptions } from '../balancer/retry-budget.js';
import type { HealthCheckOptions } from '../proxy/health-check.js';
import { validateHealthCheckOptions } from '../proxy/health-check.js';
import { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_HEADER_COUNT, DEFAULT_QUEUE, DEFAULT_UPSTREAM_SESSIONS } from '../proxy/limits.js';
import type { RetryOptions } from '../proxy/retry-options.js';
import { DEFAULT_RETRY_OPTIONS, parseRetryOn } from '../proxy/retry-options.js';
import { containerCpus } from '../cluster/container-cpus.js';
import { DEFAULTS } from './defaults.js';
import type { LogLevel } from './defaults.js';
import { parseEndpointList } from './endpoints.js';
import { describeIssue, fieldOf, show, zodErrorMap } from './issues.js';
import type { Origin } from './origin.js';
import { attribute, configError, detailOf } from './origin.js';
import type { BalancerDocument, ConfigDocument } from './schema.js';
import { documentSchema } from './schema.js';
import { checkTlsFiles } from './tls-files.js';
import { unknownKeys } from './unknown-keys.js';
import { parseYaml } from './yaml.js';

export type EndpointsConfig =
  /** A fixed list, from the config file or `--endpoints`. */
  | { readonly kind: 'inline'; readonly specs: readonly EndpointSpec[] }
  /** A YAML or JSON file of endpoints, watched for changes; `path` is absolute. */
  | { readonly kind: 'file'; readonly path: string }
  /**
   * A Kubernetes Service's EndpointSlices, listed and watched (`k8s:NAMESPACE/SERVICE[:PORT]`);
   * `podLabels`: the labels of their pods each endpoint carries, none when empty.
   */
  | { readonly kind: 'k8s'; readonly spec: K8sDiscoverySpec; readonly podLabels: readonly string[] }
  /** A headless Service's DNS records (`dns:HOST:PORT` or `srv:NAME`), re-resolved by their TTLs. */
  | { readonly kind: 'dns'; readonly target: DnsTarget; readonly server: string | null };

export interface ProxyTimeouts {
  /** Opening a connection to an endpoint. */
  readonly connectMs: number;
  /** From the request sent upstream to the endpoint's response headers; 0 disables. */
  readonly upstreamHeadersMs: number;
  /** Longest silence between chunks of an endpoint's response body; 0 disables. */
  readonly upstreamBodyMs: number;
  /** An idle keep-alive connection to an endpoint is closed after this. */
  readonly upstreamIdleMs: number;
  /** A client's whole request head must arrive within this; 0 disables. */
  readonly clientHeadersMs: number;
  /** An idle keep-alive client connection is closed after this; 0 disables. */
  readonly clientIdleMs: number;
  /** Longest silence within a request body while the proxy reads it (then 408); 0 disables. */
  readonly clientBodyMs: number;
  /** A request or HTTP/2 stream with no byte either way for this long is ended; 0 disables. */
  readonly streamIdleMs: number;
  /** On shutdown, in-flight requests get this long before their connections are cut. */
  readonly shutdownGraceMs: number;
  /** A client connection is ended gracefully after this (± 10 %); 0: no maximum age. */
  readonly maxConnectionAgeMs: number;
  /** After the maximum age, this long for what is under way; then the connection closes. 0: no bound. */
  readonly maxConnectionAgeGraceMs: number;
}

export interface ProxyConfig {
  /** Adds `x-shardgate-endpoint: <name>` to every response. */
  readonly endpointHeader: boolean;
  readonly timeouts: ProxyTimeouts;
  /** Larger request headers get 431. */
  readonly maxHeaderBytes: number;
  /** The largest request body buffered to read a `json:` key, in bytes. */
  readonly maxBodyBuffer: number;
  /** PEM files: the listener speaks TLS (ALPN h2 or http/1.1); null: plain TCP (h2c by preface). */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  /** Toward https:// and h2:// endpoints: a CA file to trust (null: the system's), or no checking at all. */
  readonly upstreamTls: { readonly caFile: string | null; readonly insecure: boolean };
  readonly maxConnections: number;
  /** Largest request body forwarded (413 beyond); 0: no limit. */
  readonly maxBodyBytes: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderCount: number;
  readonly maxUpstreamSessions: number;
  /** Per-endpoint in-flight limit (HAProxy's maxconn); 0: none. */
  readonly maxInflight: number;
  readonly queue: { readonly max: number; readonly timeoutMs: number };
  readonly retries: RetryOptions & { readonly budget: RetryBudgetOptions };
  /** Passive health; null: off. */
  readonly outlier: OutlierOptions | null;
  /** Active health checks; null: off. */
  readonly healthCheck: HealthCheckOptions | null;
}

export interface ShardgateConfig {
  readonly listen: HostPort;
  /** Where `/healthz` and `/readyz` are answered; null: no admin listener. */
  readonly admin: HostPort | null;
  readonly balancer: BalancerConfig;
  /** Key source spec (`header:x-affinity`), null for keyless algorithms. */
  readonly key: string | null;
  /** Key transform spec (`prefix:8`), applied to the key text before hashing; null for none. */
  readonly keyTransform: string | null;
  readonly endpoints: EndpointsConfig;
  readonly proxy: ProxyConfig;
  /**
   * This proxy's zone: requests without a key prefer endpoints in it (zone-aware.ts); null: no
   * preference. `auto` is resolved to a name before the data plane is built.
   */
  readonly zone: string | null;
  /** Fewest endpoints the own zone needs before requests prefer it (Envoy's min_cluster_size). */
  readonly zoneMinEndpoints: number;
  /** Subsets chosen by request headers (subsets.ts); null: every request uses every endpoint. */
  readonly subsets: SubsetOptions | null;
  readonly logLevel: LogLevel;
  /** Worker threads serving requests; default: the container's CPU limit (container-cpus.ts). 1 serves on the main thread. */
  readonly workers: number;
  /**
   * How long a planned membership change (a new ready pod, a pod marked terminating) is announced
   * before it is routed by (discovery/planned-handoff.ts); 0: changes apply at once.
   */
  readonly handoffDelayMs: number;
  /** The access log (src/metrics/access-log.ts); off unless a destination or `enabled` is given. */
  readonly accessLog: AccessLogConfig;
}

export interface AccessLogConfig {
  /** `stdout`, or an absolute file path (appended to). */
  readonly destination: string;
  readonly enabled: boolean;
  /** 0 to 1: the fraction of requests logged. */
  readonly sampleRate: number;
}

/** Flag values in the config file's shape, and the flag that set each field path. */
export interface FlagLayer {
  readonly values: Readonly<Record<string, unknown>>;
  readonly flags: ReadonlyMap<string, string>;
}

/**
 * Parses one config document. Relative `endpointsFile` paths resolve against `baseDir`.
 * @throws ConfigError naming the field, the value and what is allowed
 */
export function parseConfig(input: unknown, origin: Origin = {}, baseDir = process.cwd()): ShardgateConfig {
  // Unknown keys first, wherever they are: a misspelt name explains the errors that follow from it.
  const unknown = unknownKeys(documentSchema, input)[0];
  if (unknown !== undefined) {
    const field = fieldOf(unknown.path);
    throw configError(codeFor(field), field, unknown.detail, origin);
  }
  const r = documentSchema.safeParse(input, { reportInput: true, error: zodErrorMap });
  if (!r.success) {
    const { field, detail } = describeIssue(r.error.issues[0]!);
    if (field === '') throw configError('SG_ERR_CONFIG', origin.file ?? 'config', detail.replace(/^is /, 'holds '), {});
    throw configError(codeFor(field), field, detail, origin);
  }
  const doc = r.data;
  const balancer = toBalancer(doc.balancer);
  const endpoints = toEndpoints(doc, origin, baseDir);
  const key = doc.key ?? null;
  const keyTransform = doc.keyTransform ?? null;
  checkKey(balancer, key, origin);
  if (keyTransform !== null && key === null) {
    throw configError('SG_ERR_KEY_TRANSFORM', 'keyTransform', `is ${show(keyTransform)}, but no key is read: a transform rewrites the key of a keyed balancer; set key as well, or remove keyTransform`, origin);
  }
  checkBalancer(balancer, endpoints, origin);
  const zone = doc.zone ?? null;
  if (zone === null && doc.zoneMinEndpoints !== undefined) {
    throw configError('SG_ERR_CONFIG', 'zoneMinEndpoints', `is ${doc.zoneMinEndpoints}, but no zone is set: it tunes the preference for this proxy's zone; set zone (--zone NAME) as well, or remove zoneMinEndpoints`, origin);
  }
  const t = doc.proxy?.timeouts;
  const d = DEFAULTS.timeouts;
  return {
    listen: toListen(doc.listen ?? DEFAULTS.listen, origin),
    admin: doc.admin === undefined || doc.admin === null ? null : toListen(doc.admin, origin, 'admin'),
    balancer,
    key,
    keyTransform,
    endpoints,
    proxy: {
      endpointHeader: doc.proxy?.endpointHeader ?? DEFAULTS.endpointHeader,
      maxHeaderBytes: doc.proxy?.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes,
      maxBodyBuffer: doc.proxy?.maxBodyBuffer ?? DEFAULTS.maxBodyBuffer,
      ...toProxyExtras(doc.proxy, origin, baseDir),
      timeouts: {
        connectMs: t?.connectMs ?? d.connectMs,
        upstreamHeadersMs: t?.upstreamHeadersMs ?? d.upstreamHeadersMs,
        upstreamBodyMs: t?.upstreamBodyMs ?? d.upstreamBodyMs,
        upstreamIdleMs: t?.upstreamIdleMs ?? d.upstreamIdleMs,
        clientHeadersMs: t?.clientHeadersMs ?? d.clientHeadersMs,
        clientIdleMs: t?.clientIdleMs ?? d.clientIdleMs,
        clientBodyMs: t?.clientBodyMs ?? d.clientBodyMs,
        streamIdleMs: t?.streamIdleMs ?? d.streamIdleMs,
        shutdownGraceMs: t?.shutdownGraceMs ?? d.shutdownGraceMs,
        maxConnectionAgeMs: t?.maxConnectionAgeMs ?? d.maxConnectionAgeMs,
        maxConnectionAgeGraceMs: t?.maxConnectionAgeGraceMs ?? d.maxConnectionAgeGraceMs,
      },
    },
    zone,
    zoneMinEndpoints: doc.zoneMinEndpoints ?? DEFAULT_ZONE_MIN_ENDPOINTS,
    subsets: toSubsets(doc.subsets, origin),
    logLevel: doc.logLevel ?? DEFAULTS.logLevel,
    workers: doc.workers ?? containerCpus(),
    handoffDelayMs: doc.handoffDelayMs ?? 0,
    accessLog: toAccessLog(doc.accessLog, baseDir),
  };
}

type ProxyDocument = NonNullable<ConfigDocument['proxy']>;

/** Subset options with defaults filled in, checked by the router's own validator. */
function toSubsets(doc: ConfigDocument['subsets'], origin: Origin): SubsetOptions | null {
  if (doc == null) return null;
  if (doc.selectors === undefined) {
    throw configError('SG_ERR_CONFIG', 'subsets.selectors', 'is missing: name the request headers that choose a subset and the endpoint label each selects, for example [{ header: x-version, label: version }] (--subset x-version=version)', origin);
  }
  try {
    return validateSubsetOptions({ selectors: doc.selectors, fallback: doc.fallback ?? 'any', defaultSubset: doc.default ?? null, maxSubsets: doc.maxSubsets ?? DEFAULT_MAX_SUBSETS }, 'subsets');
  } catch (e) {
    if (e instanceof ConfigError) throw configError(e.code, e.field, detailOf(e), origin);
    throw e;
  }
}

/** TLS, limits, retries and health: each checked by its owner's validator, naming the field. */
function toProxyExtras(p: ProxyDocument | undefined, origin: Origin, baseDir: string): Omit<ProxyConfig, 'endpointHeader' | 'maxHeaderBytes' | 'maxBodyBuffer' | 'timeouts'> {
  const guard = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (e) {
      if (e instanceof ConfigError) throw configError(e.code, e.field, detailOf(e), origin);
      throw e;
    }
  };
  const tls = p?.tls;
  if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined)) {
    const missing = tls.cert === undefined ? 'proxy.tls.cert' : 'proxy.tls.key';
    throw configError('SG_ERR_CONFIG', missing, 'is missing: TLS needs both a certificate (--tls-cert) and its key (--tls-key), PEM files', origin);
  }
  const r = p?.retries;
  const retryOn = r?.retryOn === undefined ? DEFAULT_RETRY_OPTIONS.retryOn : guard(() => parseRetryOn(Array.isArray(r.retryOn) ? r.retryOn.join(',') : (r.retryOn as string), 'proxy.retries.retryOn'));
  const budget = guard(() =>
    validateRetryBudgetOptions(
      {
        ...(r?.budgetPercent === undefined ? {} : { budgetPercent: r.budgetPercent }),
        ...(r?.minRetriesPerSecond === undefined ? {} : { minRetriesPerSecond: r.minRetriesPerSecond }),
        ...(r?.budgetWindowMs === undefined ? {} : { budgetWindowMs: r.budgetWindowMs }),
      },
      'proxy.retries',
    ),
  );
  const outlier = p?.outlier === false ? null : guard(() => validateOutlierOptions(p?.outlier ?? {}, 'proxy.outlier'));
  const healthCheck = p?.healthCheck == null ? null : guard(() => validateHealthCheckOptions(p.healthCheck, 'proxy.healthCheck'));
  return {
    tls: tls?.cert !== undefined && tls.key !== undefined ? { certFile: resolve(baseDir, tls.cert), keyFile: resolve(baseDir, tls.key) } : null,
    upstreamTls: { caFile: p?.upstreamTls?.ca === undefined ? null : resolve(baseDir, p.upstreamTls.ca), insecure: p?.upstreamTls?.insecure ?? false },
    maxConnections: p?.maxConnections ?? 0,
    maxBodyBytes: p?.maxBodyBytes ?? 0,
    maxConcurrentStreams: p?.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
    maxHeaderCount: p?.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT,
    maxUpstreamSessions: p?.maxUpstreamSessions ?? DEFAULT_UPSTREAM_SESSIONS,
    maxInflight: p?.maxInflight ?? 0,
    queue: { max: p?.queue?.max ?? DEFAULT_QUEUE.max, timeoutMs: p?.queue?.timeoutMs ?? DEFAULT_QUEUE.timeoutMs },
    retries: { retries: r?.retries ?? DEFAULT_RETRY_OPTIONS.retries, retryOn, nonIdempotent: r?.nonIdempotent ?? DEFAULT_RETRY_OPTIONS.nonIdempotent, budget },
    outlier,
    healthCheck,
  };
}

export interface LoadOptions {
  /** A YAML (or JSON) config file, as the user named it. */
  readonly configFile?: string | undefined;
  /** Values from flags; they override the file. */
  readonly flags?: FlagLayer | undefined;
  /** Where relative paths given as flags resolve; the process's working directory by default. */
  readonly cwd?: string | undefined;
}

/**
 * Reads the config file (if any), lays the flags over it and parses the result once; then reads
 * and checks the PEM files it names (tls-files.ts).
 * @throws ConfigError naming the field, the value and its flag or file
 */
export async function loadConfig(options: LoadOptions): Promise<ShardgateConfig> {
  const { document, origin, cwd } = await loadDocument(options);
  const config = parseConfig(document, origin, cwd);
  try {
    await checkTlsFiles(config.proxy.tls, config.proxy.upstreamTls.caFile);
  } catch (e) {
    if (e instanceof ConfigError) throw attribute(e, origin);
    throw e;
  }
  return config;
}

/** The config file's document with the flags laid over it, not yet checked: what parseConfig takes. */
export interface LoadedDocument {
  readonly document: Record<string, unknown>;
  readonly origin: Origin;
  /** Where relative paths given as flags resolve. */
  readonly cwd: string;
}

/**
 * Reads the config file (if any) and lays the flags over it; a relative `endpointsFile` in the
 * file is made relative to the file.
 * @throws ConfigError when the file cannot be read, is not YAML, or is not a mapping
 */
export async function loadDocument(options: LoadOptions): Promise<LoadedDocument> {
  const cwd = options.cwd ?? process.cwd();
  const flags = options.flags ?? { values: {}, flags: new Map<string, string>() };
  let fileLayer: Record<string, unknown> = {};
  const file = options.configFile;
  if (file !== undefined) {
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new ConfigError('SG_ERR_CONFIG', file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}): give the path of a YAML config file`, { cause: e });
    }
    const data = parseYaml(text, file);
    if (data !== null && !isPlainObject(data)) {
      throw new ConfigError('SG_ERR_CONFIG', file, `holds ${show(data)}: a config file is a mapping of settings (listen:, balancer:, endpoints:, ...)`);
    }
    fileLayer = { ...(data ?? {}) };
    // A path in the file means a path next to the file, wherever shardgate was started.
    const ef = fileLayer.endpointsFile;
    if (typeof ef === 'string' && ef.length > 0 && !isAbsolute(ef)) fileLayer.endpointsFile = resolve(dirname(path), ef);
  }
  if ('endpoints' in flags.values || 'endpointsFile' in flags.values || 'discovery' in flags.values) {
    delete fileLayer.endpoints;
    delete fileLayer.endpointsFile;
    delete fileLayer.discovery;
  }
  return { document: mergeLayers(fileLayer, flags.values), origin: { file, flags: flags.flags }, cwd };
}

/** `over` laid on `base`: mappings merge key by key, anything else (lists included) is replaced. */
export function mergeLayers(base: Readonly<Record<string, unknown>>, over: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeLayers(b, v) : v;
  }
  return out;
}

/** The peak-EWMA settings of whichever balancer uses it (top level or keyless fallback), for the shared LoadBoard. */
export function loadBoardOptions(config: BalancerConfig): LoadBoardOptions {
  if (config.algorithm === 'peak-ewma') return { decayMs: config.decayMs, defaultRttMs: config.defaultRttMs };
  if ('keyless' in config && config.keyless.algorithm === 'peak-ewma') {
    return { decayMs: config.keyless.decayMs, defaultRttMs: config.keyless.defaultRttMs };
  }
  return {};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function codeFor(field: string): 'SG_ERR_CONFIG' | 'SG_ERR_BALANCER' | 'SG_ERR_ENDPOINTS' | 'SG_ERR_KEY_SOURCE' | 'SG_ERR_KEY_TRANSFORM' | 'SG_ERR_LISTEN' {
  if (field.startsWith('balancer')) return 'SG_ERR_BALANCER';
  if (field.startsWith('endpoints')) return 'SG_ERR_ENDPOINTS';
  if (field === 'key') return 'SG_ERR_KEY_SOURCE';
  if (field === 'keyTransform') return 'SG_ERR_KEY_TRANSFORM';
  if (field === 'listen' || field === 'admin') return 'SG_ERR_LISTEN';
  return 'SG_ERR_CONFIG';
}

function toListen(text: string, origin: Origin, field = 'listen'): HostPort {
  const r = parseHostPort(text, 0);
  // The schema has checked a given value; this catches only a bad default.
  if (!r.ok) throw configError('SG_ERR_LISTEN', field, `is ${show(text)}: ${r.reason}`, origin);
  return r.value;
}

function toBalancer(b: BalancerDocument | undefined): BalancerConfig {
  if (b === undefined) return { algorithm: DEFAULTS.algorithm };
  switch (b.algorithm) {
    case 'random':
    case 'round-robin':
    case 'least-request':
    case 'p2c':
      return { algorithm: b.algorithm };
    case 'peak-ewma':
      return { algorithm: b.algorithm, decayMs: b.decayMs ?? DEFAULT_PEAK_EWMA.decayMs, defaultRttMs: b.defaultRttMs ?? DEFAULT_PEAK_EWMA.defaultRttMs };
    default:
      return toKeyed(b);
  }
}

function toKeyed(b: Extract<BalancerDocument, { keyless?: unknown }>): KeyedConfig {
  const keyless: KeylessConfig =
    b.keyless === undefined
      ? DEFAULT_KEYLESS
      : b.keyless === 'peak-ewma'
        ? { algorithm: 'peak-ewma', decayMs: b.decayMs ?? DEFAULT_PEAK_EWMA.decayMs, defaultRttMs: b.defaultRttMs ?? DEFAULT_PEAK_EWMA.defaultRttMs }
        : { algorithm: b.keyless };
  const common = { loadFactor: b.boundedLoad ?? null, keyless };
  switch (b.algorithm) {
    case 'ring-hash':
      return { ...common, algorithm: b.algorithm, minRingSize: b.minRingSize ?? DEFAULT_RING.minRingSize, maxRingSize: b.maxRingSize ?? DEFAULT_RING.maxRingSize };
    case 'maglev':
      return { ...common, algorithm: b.algorithm, tableSize: b.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE };
    case 'rendezvous':
      return { ...common, algorithm: b.algorithm, table: b.table ?? false };
    case 'jump':
      return { ...common, algorithm: b.algorithm };
    case 'ordinal':
      return { ...common, algorithm: b.algorithm, replicas: b.replicas ?? null, onMissing: b.onMissing ?? 'fail' };
    case 'ranges':
      return { ...common, algorithm: b.algorithm, ranges: b.ranges, onMissing: b.onMissing ?? 'fail' };
    case 'lookup':
      return { ...common, algorithm: b.algorithm, entries: b.entries.map(toLookupEntry), onMissing: b.onMissing ?? 'fail', default: b.default ?? 'fail' };
    default: {
      const never: never = b;
      throw new Error(`unhandled algorithm ${JSON.stringify(never)}`);
    }
  }
}

/**
 * An entry as written; one with both or neither of key and prefix is passed on as written, for the
 * balancer's constructor to refuse with the entry's field.
 */
function toLookupEntry(e: { readonly key?: string | undefined; readonly prefix?: string | undefined; readonly endpoint: string }): LookupEntry {
  if (e.key !== undefined && e.prefix === undefined) return { key: e.key, endpoint: e.endpoint };
  if (e.prefix !== undefined && e.key === undefined) return { prefix: e.prefix, endpoint: e.endpoint };
  return e as LookupEntry;
}

function noPodsFor(podLabels: readonly string[], origin: Origin): ConfigError {
  return configError('SG_ERR_CONFIG', 'podLabels', `is ${show(podLabels.join(','))}, but endpoints are not discovered from Kubernetes: pod labels are read with discovery k8s:NAMESPACE/SERVICE; set it, or give the labels in the endpoints (labels:) and remove podLabels`, origin);
}

function toEndpoints(doc: ConfigDocument, origin: Origin, baseDir: string): EndpointsConfig {
  const discovery = doc.discovery;
  if (discovery !== undefined) {
    if (doc.endpoints !== undefined || doc.endpointsFile !== undefined) {
      throw configError('SG_ERR_ENDPOINTS', 'discovery', `is ${show(discovery)}, and endpoints are given too: use one of discovery, endpoints and endpointsFile`, origin);
    }
    try {
      if (discovery.startsWith('k8s:')) return { kind: 'k8s', spec: parseK8sDiscoverySpec(discovery, 'discovery'), podLabels: doc.podLabels ?? [] };
      if (doc.podLabels !== undefined) throw noPodsFor(doc.podLabels, origin);
      const server = doc.dnsServer === undefined ? null : parseDnsServer(doc.dnsServer, 'dnsServer');
      return { kind: 'dns', target: parseDnsTarget(discovery, 'discovery'), server };
    } catch (e) {
      if (e instanceof ConfigError) throw configError(e.code, e.field, detailOf(e), origin);
      throw e;
    }
  }
  if (doc.podLabels !== undefined) throw noPodsFor(doc.podLabels, origin);
  if (doc.dnsServer !== undefined) {
    throw configError('SG_ERR_CONFIG', 'dnsServer', `is ${show(doc.dnsServer)}, but no DNS discovery is configured: set discovery to dns:HOST:PORT or srv:NAME, or remove dnsServer`, origin);
  }
  if (doc.endpoints !== undefined && doc.endpointsFile !== undefined) {
    throw configError('SG_ERR_ENDPOINTS', 'endpointsFile', `is ${show(doc.endpointsFile)}, and an endpoints list is given too: use one of endpoints and endpointsFile`, origin);
  }
  if (doc.endpointsFile !== undefined) return { kind: 'file', path: resolve(baseDir, doc.endpointsFile) };
  if (doc.endpoints === undefined) {
    throw configError('SG_ERR_ENDPOINTS', 'endpoints', 'is missing: list the endpoints (endpoints: in the config file, or --endpoints NAME=HOST:PORT,...), name a file of them (endpointsFile:, or --endpoints-file), or discover them (discovery:, or --discovery k8s:NAMESPACE/SERVICE, dns:HOST:PORT, srv:NAME)', origin);
  }
  if (doc.endpoints.length === 0) {
    throw configError('SG_ERR_ENDPOINTS', 'endpoints', 'is an empty list: give at least one endpoint, for example pod-0=127.0.0.1:9000', origin);
  }
  const set = parseEndpointList(doc.endpoints, 'endpoints', origin);
  return { kind: 'inline', specs: set.endpoints.map(specOf) };
}

function checkKey(balancer: BalancerConfig, key: string | null, origin: Origin): void {
  const keyed = 'keyless' in balancer;
  if (keyed && key === null) {
    throw configError('SG_ERR_KEY_SOURCE', 'key', `is missing, but ${balancer.algorithm} routes by key: name where the key is read, for example header:x-affinity (also cookie:NAME, query:NAME, path:INDEX, json:PATH)`, origin);
  }
  if (!keyed && key !== null) {
    throw configError('SG_ERR_KEY_SOURCE', 'key', `is ${show(key)}, but ${balancer.algorithm} does not route by key: choose a keyed algorithm (${KEYED_ALGORITHMS.join(', ')}) or remove the key`, origin);
  }
}

/** BalancerConfig field names the balancers report, as the config document spells them. */
const DOCUMENT_FIELD: Readonly<Record<string, string>> = {
  'balancer.loadFactor': 'balancer.boundedLoad',
  'balancer.keyless.decayMs': 'balancer.decayMs',
  'balancer.keyless.defaultRttMs': 'balancer.defaultRttMs',
};

/**
 * Builds the balancer once, with a throwaway clock and rng, so that its constructors' checks
 * (bounded-load factor, ring sizes, prime table size, replicas, overlapping ranges) run now, with
 * their own messages, instead of at the first request.
 */
function checkBalancer(balancer: BalancerConfig, endpoints: EndpointsConfig, origin: Origin): void {
  try {
    createBalancer(balancer, { clock: new ManualClock(0), rng: seededRng(0) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const field = DOCUMENT_FIELD[e.field];
    throw attribute(field === undefined ? e : new ConfigError(e.code, field, detailOf(e), { cause: e }), origin);
  }
  if ((balancer.algorithm === 'ranges' || balancer.algorithm === 'lookup') && endpoints.kind === 'inline') {
    // With a fixed list an owner that is not in it can only be a typo; a watched file may still
    // bring it.
    const names = new Set(endpoints.specs.map((s) => s.name));
    const owners = balancer.algorithm === 'ranges' ? balancer.ranges : balancer.entries;
    const list = balancer.algorithm === 'ranges' ? 'ranges' : 'entries';
    owners.forEach((r, i) => {
      if (!names.has(r.endpoint)) {
        throw configError('SG_ERR_BALANCER', `balancer.${list}[${i}].endpoint`, `is ${show(r.endpoint)}, which is not an endpoint: use one of ${[...names].join(', ')}`, origin);
      }
    });
  }
}

/** The access log's settings: a destination turns it on; stdout unless a path is given. */
function toAccessLog(doc: ConfigDocument['accessLog'], baseDir: string): AccessLogConfig {
  const given = doc?.destination;
  const destination = given === undefined || given === 'stdout' ? 'stdout' : resolve(baseDir, given);
  return { destination, enabled: doc?.enabled ?? given !== undefined, sampleRate: doc?.sampleRate ?? 1 };
}
