/**
 * The shardgate load-balancing policy's config, as a service config names it:
 *
 *   { "loadBalancingConfig": [{ "shardgate": { "key": "x-tenant", "balancer": "ring-hash" } }] }
 *
 * Its fields are those of a shardgate config file that decide who owns a key, so that a channel
 * and a proxy configured alike name the same owner for every key:
 * - `key`: the call metadata key that carries the routing key (the proxy's `--key grpc:NAME`);
 *   absent, every call is keyless.
 * - `keyTransform`: as the config file's (`prefix:8`).
 * - `balancer`: an algorithm name, or the config file's `balancer:` mapping
 *   (`{ "algorithm": "ring-hash", "boundedLoad": 1.25 }`); p2c when absent, as for the proxy.
 * - `maxInflight`: most calls in flight per endpoint on this channel; calls beyond it wait.
 * - `outlier`: passive health, as the config file's `proxy.outlier` (on by default), or false.
 *
 * They become a config document, checked whole by `parseConfig` (the target supplies the
 * endpoints), so every refusal is the config file's own, naming the field. Retries are grpc-js's
 * own (the service config's `retryPolicy`), so the document turns shardgate's off.
 */
import type { experimental } from '@grpc/grpc-js';
import type { ShardgateConfig } from '../../config/config.js';
import { parseConfig } from '../../config/config.js';
import type { Origin } from '../../config/origin.js';
import { ConfigError } from '../../errors.js';
import type { TargetDocument } from './shardgate-target.js';

export const POLICY_NAME = 'shardgate';

const FIELDS = ['key', 'keyTransform', 'balancer', 'maxInflight', 'outlier'] as const;

/** The policy's config as written in the service config. */
export interface ShardgatePolicyJson {
  readonly key?: string;
  readonly keyTransform?: string;
  readonly balancer?: string | Readonly<Record<string, unknown>>;
  readonly maxInflight?: number;
  readonly outlier?: false | Readonly<Record<string, unknown>>;
}

/** Config-document field paths and the policy field each came from, for messages. */
const POLICY_FIELDS: ReadonlyMap<string, string> = new Map([
  ['key', `${POLICY_NAME}.key`],
  ['keyTransform', `${POLICY_NAME}.keyTransform`],
  ['balancer', `${POLICY_NAME}.balancer`],
  ['proxy.maxInflight', `${POLICY_NAME}.maxInflight`],
  ['proxy.outlier', `${POLICY_NAME}.outlier`],
]);

/** Stands in for the target's endpoints while the policy is checked alone (never opened). */
const NO_TARGET: TargetDocument = { endpointsFile: '/dev/null' };

export class ShardgatePolicyConfig implements experimental.TypedLoadBalancingConfig {
  readonly json: ShardgatePolicyJson;
  readonly #document: Readonly<Record<string, unknown>>;

  /** @throws ConfigError naming the field, its value and what is allowed */
  constructor(json: ShardgatePolicyJson) {
    this.json = json;
    this.#document = policyDocument(json);
    this.config({ text: POLICY_NAME, document: NO_TARGET });
  }

  /**
   * grpc-js's parser for the policy's entry in a service config; a refusal makes grpc-js skip the
   * entry, so the resolver checks the same config first and refuses the channel itself.
   * @throws ConfigError naming the field
   */
  static createFromJson(obj: unknown): ShardgatePolicyConfig {
    return new ShardgatePolicyConfig(checkJson(obj));
  }

  getLoadBalancerName(): string {
    return POLICY_NAME;
  }

  toJsonObject(): object {
    return { [POLICY_NAME]: this.json };
  }

  /**
   * The whole config of a channel: this policy over the target's endpoints.
   * @throws ConfigError naming the policy field or the target
   */
  config(target: { readonly text: string; readonly document: TargetDocument }): ShardgateConfig {
    const flags = new Map(POLICY_FIELDS);
    for (const field of ['endpoints', 'endpointsFile', 'discovery', 'dnsServer']) flags.set(field, `target ${target.text}`);
    const origin: Origin = { flags };
    return parseConfig({ ...this.#document, ...target.document }, origin);
  }
}

function checkJson(obj: unknown): ShardgatePolicyJson {
  const shape = `give an object with any of ${FIELDS.join(', ')}, for example { "key": "x-tenant", "balancer": "ring-hash" }`;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError('SG_ERR_CONFIG', POLICY_NAME, `is ${JSON.stringify(obj)}: ${shape}`);
  }
  const record = obj as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (!(FIELDS as readonly string[]).includes(field)) throw new ConfigError('SG_ERR_CONFIG', `${POLICY_NAME}.${field}`, `is not a setting of the ${POLICY_NAME} policy: ${shape}`);
  }
  const key = record.key;
  if (key !== undefined && (typeof key !== 'string' || key.includes(':') || key.toLowerCase().endsWith('-bin'))) {
    throw new ConfigError(
      'SG_ERR_KEY_SOURCE',
      `${POLICY_NAME}.key`,
      `is ${JSON.stringify(key)}: name the call metadata key that carries the routing key, as text (a key ending in -bin holds bytes), for example "x-tenant"`,
    );
  }
  const balancer = record.balancer;
  if (balancer !== undefined && typeof balancer !== 'string' && (typeof balancer !== 'object' || balancer === null || Array.isArray(balancer))) {
    throw new ConfigError('SG_ERR_BALANCER', `${POLICY_NAME}.balancer`, `is ${JSON.stringify(balancer)}: give an algorithm name ("ring-hash") or an object as the config file's balancer ({ "algorithm": "ring-hash", "boundedLoad": 1.25 })`);
  }
  // The other fields' types are the config file's, checked by parseConfig.
  return record;
}

/** The config-document fields of a policy config. */
function policyDocument(json: ShardgatePolicyJson): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  if (json.key !== undefined) doc.key = `grpc:${json.key}`;
  if (json.keyTransform !== undefined) doc.keyTransform = json.keyTransform;
  if (json.balancer !== undefined) doc.balancer = typeof json.balancer === 'string' ? { algorithm: json.balancer } : json.balancer;
  const proxy: Record<string, unknown> = { retries: { retries: 0 } };
  if (json.maxInflight !== undefined) proxy.maxInflight = json.maxInflight;
  if (json.outlier !== undefined) proxy.outlier = json.outlier;
  doc.proxy = proxy;
  return doc;
}
