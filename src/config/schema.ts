/**
 * The shape of a config document as people write it (YAML file, or flags mapped onto the same
 * fields). Objects are strict, so a misspelt field is refused rather than ignored. The balancer is a
 * union on `algorithm`: each algorithm accepts exactly its own options. Checks that need the
 * algorithms' own knowledge (a prime table size, overlapping ranges, the bounded-load factor) are
 * left to the balancer constructors, which validate with field-naming messages of their own.
 */
import { z } from 'zod';
import { KEYLESS_ALGORITHMS } from '../balancer/factory.js';
import { MAX_WEIGHT } from '../balancer/endpoint.js';
import { parseKeyTransform } from '../balancer/key-transform.js';
import { LOOKUP_FALLBACKS } from '../balancer/lookup.js';
import { DEFAULT_OUTLIER } from '../balancer/outlier-detector.js';
import { DEFAULT_HEALTH_CHECK } from '../proxy/health-check.js';
import { MAX_SUBSETS_LIMIT, SUBSET_FALLBACKS } from '../balancer/subsets.js';
import { MAX_ZONE_MIN_ENDPOINTS } from '../balancer/zone-aware.js';
import { ConfigError } from '../errors.js';
import { parseEndpointAddress } from '../proxy/address.js';
import { parseKeySource } from '../proxy/key-source.js';
import { MAX_RETRIES } from '../proxy/retry-options.js';
import { parseHostPort } from '../proxy/address.js';
import { LOG_LEVELS, MAX_HANDOFF_DELAY_MS, MAX_WORKERS, MAX_BODY_BUFFER_LIMIT, MAX_HEADER_BYTES_LIMIT, MAX_MS, MIN_BODY_BUFFER, MIN_HEADER_BYTES } from './defaults.js';
import { show } from './issues.js';
import { detailOf } from './origin.js';

/** Runs a parser that throws ConfigError and turns its refusal into an issue at the current field. */
function refuseWith(parse: () => unknown, input: string, ctx: z.RefinementCtx): void {
  try {
    parse();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.addIssue({ code: 'custom', input, message: detailOf(e) });
  }
}

const ms = z.int().min(1).max(MAX_MS);

/**
 * A mapping of exactly the settings `defaults` has, their values left to the owner's own validator
 * (which names the range and the default): the schema still knows every field, so that an unknown
 * one is refused with a suggestion and the reference can list them.
 */
function settingsOf(defaults: object): z.ZodObject {
  return z.strictObject(Object.fromEntries(Object.keys(defaults).map((k) => [k, z.unknown().optional()])));
}

/** Checked in config.ts by the subset router's own validator, which names every field. */
const subsets = z.strictObject({
  selectors: z.array(z.strictObject({ header: z.string(), label: z.string() })).optional(),
  fallback: z.enum(SUBSET_FALLBACKS).optional(),
  default: z.record(z.string().min(1), z.string()).nullable().optional(),
  maxSubsets: z.int().min(1).max(MAX_SUBSETS_LIMIT).optional(),
});

export const endpointSpecSchema = z.strictObject({
  name: z.string().min(1),
  // The proxy's own parser, so that config accepts exactly the addresses the proxy can dial.
  address: z.string().superRefine((address, ctx) => refuseWith(() => parseEndpointAddress(address), address, ctx)),
  weight: z.int().min(1).max(MAX_WEIGHT).optional(),
  zone: z.string().min(1).nullable().optional(),
  node: z.string().min(1).nullable().optional(),
  labels: z.record(z.string().min(1), z.string()).optional(),
  draining: z.boolean().optional(),
});

export const endpointListSchema = z.array(endpointSpecSchema);

const range = z.strictObject({
  from: z.int().min(0),
  to: z.int().min(0),
  endpoint: z.string().min(1),
});

/** A lookup entry names exactly one of key and prefix; the balancer's constructor says which is wrong. */
const lookupEntry = z.strictObject({
  key: z.string().min(1).optional(),
  prefix: z.string().min(1).optional(),
  endpoint: z.string().min(1),
});

const onMissing = z.enum(['fail', 'next']);
const keyless = z.enum(KEYLESS_ALGORITHMS);

const peakEwmaOptions = {
  decayMs: ms.optional(),
  defaultRttMs: z.int().min(0).max(MAX_MS).optional(),
};

/** Options every keyed algorithm takes; decayMs and defaultRttMs tune a peak-ewma keyless fallback. */
const keyedCommon = {
  boundedLoad: z.number().nullable().optional(),
  keyless: keyless.optional(),
  ...peakEwmaOptions,
};

interface KeylessTuning {
  readonly keyless?: string | undefined;
  readonly decayMs?: number | undefined;
  readonly defaultRttMs?: number | undefined;
}

function peakEwmaOnly(v: KeylessTuning, ctx: z.RefinementCtx): void {
  for (const f of ['decayMs', 'defaultRttMs'] as const) {
    const value = v[f];
    if (value !== undefined && v.keyless !== 'peak-ewma') {
      ctx.addIssue({
        code: 'custom',
        path: [f],
        input: value,
        message: `is ${value}, but it tunes peak-ewma and balancer.keyless is ${v.keyless ?? 'p2c (the default)'}: set balancer.keyless to peak-ewma or remove ${f}`,
      });
    }
  }
}

export const balancerSchema = z.discriminatedUnion('algorithm', [
  z.strictObject({ algorithm: z.enum(['random', 'round-robin', 'least-request', 'p2c']) }),
  z.strictObject({ algorithm: z.literal('peak-ewma'), ...peakEwmaOptions }),
  z.strictObject({ algorithm: z.literal('ring-hash'), ...keyedCommon, minRingSize: z.int().optional(), maxRingSize: z.int().optional() }).superRefine(peakEwmaOnly),
  z.strictObject({ algorithm: z.literal('maglev'), ...keyedCommon, tableSize: z.int().nullable().optional() }).superRefine(peakEwmaOnly),
  z.strictObject({ algorithm: z.literal('rendezvous'), ...keyedCommon, table: z.boolean().optional() }).superRefine(peakEwmaOnly),
  z.strictObject({ algorithm: z.literal('jump'), ...keyedCommon }).superRefine(peakEwmaOnly),
  z.strictObject({ algorithm: z.literal('ordinal'), ...keyedCommon, replicas: z.int().nullable().optional(), onMissing: onMissing.optional() }).superRefine(peakEwmaOnly),
  z.strictObject({ algorithm: z.literal('ranges'), ...keyedCommon, ranges: z.array(range), onMissing: onMissing.optional() }).superRefine(peakEwmaOnly),
  z
    .strictObject({ algorithm: z.literal('lookup'), ...keyedCommon, entries: z.array(lookupEntry), onMissing: onMissing.optional(), default: z.enum(['fail', ...LOOKUP_FALLBACKS]).optional() })
    .superRefine(peakEwmaOnly),
]);

/** A bound that may be switched off with 0. */
const msOrOff = z.int().min(0).max(MAX_MS);

const timeouts = z.strictObject({
  connectMs: ms.optional(),
  upstreamHeadersMs: msOrOff.optional(),
  upstreamBodyMs: msOrOff.optional(),
  upstreamIdleMs: ms.optional(),
  clientHeadersMs: msOrOff.optional(),
  clientIdleMs: msOrOff.optional(),
  clientBodyMs: msOrOff.optional(),
  streamIdleMs: msOrOff.optional(),
  shutdownGraceMs: ms.optional(),
  maxConnectionAgeMs: msOrOff.optional(),
  maxConnectionAgeGraceMs: msOrOff.optional(),
});

const hostPort = z.string().superRefine((text, ctx) => {
  const r = parseHostPort(text, 0);
  if (!r.ok) ctx.addIssue({ code: 'custom', input: text, message: `is ${show(text)}: ${r.reason}` });
});

export const documentSchema = z.strictObject({
  listen: hostPort.optional(),
  /** The admin listener (probes); off when absent or null. */
  admin: hostPort.nullable().optional(),
  key: z
    .string()
    .superRefine((spec, ctx) => refuseWith(() => parseKeySource(spec, 'key'), spec, ctx))
    .nullable()
    .optional(),
  keyTransform: z
    .string()
    .superRefine((spec, ctx) => refuseWith(() => parseKeyTransform(spec, 'keyTransform'), spec, ctx))
    .nullable()
    .optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  workers: z.int().min(1).max(MAX_WORKERS).optional(),
  handoffDelayMs: z.int().min(0).max(MAX_HANDOFF_DELAY_MS).optional(),
  // The access log: `destination` is stdout or a file path, and giving one turns the log on.
  accessLog: z.strictObject({ destination: z.string().min(1).optional(), enabled: z.boolean().optional(), sampleRate: z.number().min(0).max(1).optional() }).optional(),
  balancer: balancerSchema.optional(),
  // This proxy's zone, for zone-aware routing; `auto` is resolved to a name before the data plane is built.
  zone: z.string().min(1).nullable().optional(),
  zoneMinEndpoints: z.int().min(1).max(MAX_ZONE_MIN_ENDPOINTS).optional(),
  subsets: subsets.nullable().optional(),
  endpoints: endpointListSchema.optional(),
  endpointsFile: z.string().min(1).optional(),
  // Parsed in config.ts, by the discovery sources' own parsers, which name the field.
  discovery: z.string().min(1).optional(),
  dnsServer: z.string().min(1).optional(),
  podLabels: z.array(z.string().min(1)).min(1).optional(),
  proxy: z
    .strictObject({
      endpointHeader: z.boolean().optional(),
      maxHeaderBytes: z.int().min(MIN_HEADER_BYTES).max(MAX_HEADER_BYTES_LIMIT).optional(),
      maxBodyBuffer: z.int().min(MIN_BODY_BUFFER).max(MAX_BODY_BUFFER_LIMIT).optional(),
      timeouts: timeouts.optional(),
      tls: z.strictObject({ cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).optional(),
      upstreamTls: z.strictObject({ ca: z.string().min(1).optional(), insecure: z.boolean().optional() }).optional(),
      maxConnections: z.int().min(0).max(10_000_000).optional(),
      maxBodyBytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      maxConcurrentStreams: z.int().min(1).max(1_000_000).optional(),
      maxHeaderCount: z.int().min(1).max(10_000).optional(),
      maxUpstreamSessions: z.int().min(1).max(1_000).optional(),
      maxInflight: z.int().min(0).max(1_000_000).optional(),
      queue: z.strictObject({ max: z.int().min(0).max(1_000_000).optional(), timeoutMs: ms.optional() }).optional(),
      retries: z
        .strictObject({
          retries: z.int().min(0).max(MAX_RETRIES).optional(),
          retryOn: z.union([z.string(), z.array(z.string())]).optional(),
          nonIdempotent: z.boolean().optional(),
          budgetPercent: z.unknown().optional(),
          minRetriesPerSecond: z.unknown().optional(),
          budgetWindowMs: z.unknown().optional(),
        })
        .optional(),
      // The values are checked by the detectors' own validators, which name every setting.
      outlier: z.union([z.literal(false), settingsOf(DEFAULT_OUTLIER)]).optional(),
      healthCheck: settingsOf(DEFAULT_HEALTH_CHECK).nullable().optional(),
    })
    .optional(),
});

export type ConfigDocument = z.infer<typeof documentSchema>;
export type BalancerDocument = z.infer<typeof balancerSchema>;
