/**
 * The resolver of `shardgate:` targets (grpc-js `experimental.registerResolver`). One per channel:
 * it builds the channel's DataPlane from the target's source and the config of the channel's
 * shardgate policy (read from the channel's `grpc.service_config`, the one grpc-js gives the
 * policy), follows the source into it, and reports each applied set to grpc-js as endpoints, with
 * the plane itself as an attribute for the policy. Any policy can use the addresses (round_robin
 * spreads over the pods); the shardgate policy picks with the plane.
 *
 * As grpc-js requires, the listener is never called from inside `updateResolution()`: reports go
 * out on a later turn, one for any number of sets applied in between. The source is opened at the
 * first `updateResolution()` (when the channel first connects), and `destroy()` closes it; a later
 * `updateResolution()` opens it again. Until the first set, discovery problems are reported as
 * UNAVAILABLE naming the reason, so that calls fail instead of waiting; afterwards the last good
 * set keeps serving, as in the proxy. A malformed target or policy config refuses the channel
 * (grpc-js makes the resolver in the channel's constructor).
 *
 * A channel without `grpc.service_config` gets the shardgate policy, keyless: its calls spread
 * over every pod. Re-resolution requests ask a DNS source to resolve again, rate-limited. Each
 * plane is published on the diagnostics channel `shardgate:grpc:plane` as it opens.
 */
import diagnostics from 'node:diagnostics_channel';
import { experimental, Metadata, status } from '@grpc/grpc-js';
import type { ChannelOptions, ServiceConfig } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { EndpointSet } from '../../balancer/endpoint.js';
import type { ShardgateConfig } from '../../config/config.js';
import type { DataPlane } from '../../dataplane/data-plane.js';
import { ConfigError } from '../../errors.js';
import { PLANE_ATTRIBUTE } from './plane-attribute.js';
import { POLICY_NAME, ShardgatePolicyConfig } from './shardgate-policy-config.js';
import type { ShardgateTarget } from './shardgate-target.js';
import { parseShardgateTarget } from './shardgate-target.js';
import { subchannelAddressOf } from './subchannel-address.js';
import { TargetPlane } from './target-plane.js';

const SERVICE_CONFIG_OPTION = 'grpc.service_config';

/** A channel's plane, published as its source opens: its sets, in-flight counts and health. */
export interface GrpcPlaneEvent {
  readonly target: string;
  readonly plane: DataPlane;
}

export const planeChannel = diagnostics.channel('shardgate:grpc:plane');

/** What grpc-js's registry takes (its type is not exported). */
type ResolverConstructor = Parameters<typeof experimental.registerResolver>[1];

/** What a channel without a service config balances with: every call keyless, over every pod. */
const DEFAULT_SERVICE_CONFIG: experimental.StatusOr<ServiceConfig> = experimental.statusOrFromValue({ loadBalancingConfig: [{ [POLICY_NAME]: {} }], methodConfig: [] });

export class ShardgateResolver implements experimental.Resolver {
  readonly target: ShardgateTarget;
  /** The channel's config: the target's source under its shardgate policy (keyless without one). */
  readonly config: ShardgateConfig;
  readonly #listener: experimental.ResolverListener;
  readonly #serviceConfig: experimental.StatusOr<ServiceConfig> | null;
  readonly #log: Logger;
  #plane: TargetPlane | null = null;
  #opening = false;
  /** Bumped by destroy(): an open that ends after it is closed at once. */
  #generation = 0;
  #pending: NodeJS.Immediate | null = null;
  #hasSet = false;
  /** The discovery problem to report while no set has come. */
  #error: string | null = null;

  /** @throws ConfigError naming the target or the policy field at fault */
  constructor(target: experimental.GrpcUri, listener: experimental.ResolverListener, options: ChannelOptions, logger: Logger) {
    this.target = parseShardgateTarget(target);
    this.config = (chosenPolicy(options) ?? new ShardgatePolicyConfig({})).config(this.target);
    this.#listener = listener;
    this.#serviceConfig = options[SERVICE_CONFIG_OPTION] === undefined ? DEFAULT_SERVICE_CONFIG : null;
    this.#log = logger.child({ target: this.target.text });
  }

  /** @throws ConfigError when the target is not one of the shardgate: forms */
  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return parseShardgateTarget(target).authority;
  }

  /** The channel's plane once its source is open, else null. */
  get plane(): TargetPlane | null {
    return this.#plane;
  }

  updateResolution(): void {
    const open = this.#plane;
    if (open !== null) {
      open.refresh('the channel asked to resolve again');
      if (this.#hasSet) this.#schedule();
      return;
    }
    if (this.#opening) return;
    this.#opening = true;
    const generation = this.#generation;
    const current = (): boolean => generation === this.#generation;
    TargetPlane.open(this.config, this.#log, {
      onSet: () => {
        if (!current()) return;
        this.#hasSet = true;
        this.#error = null;
        this.#schedule();
      },
      onError: (message) => {
        if (!current() || this.#hasSet) return;
        this.#error = message;
        this.#schedule();
      },
    }).then(
      (plane) => {
        if (!current()) {
          plane.close();
          return;
        }
        this.#opening = false;
        this.#plane = plane;
        if (planeChannel.hasSubscribers) {
          const event: GrpcPlaneEvent = { target: this.target.text, plane: plane.plane };
          planeChannel.publish(event);
        }
      },
      (e: unknown) => {
        if (!current()) return;
        // The next updateResolution() tries again.
        this.#opening = false;
        this.#error = e instanceof Error ? e.message : String(e);
        this.#schedule();
      },
    );
  }

  destroy(): void {
    this.#generation++;
    this.#opening = false;
    this.#plane?.close();
    this.#plane = null;
    if (this.#pending !== null) clearImmediate(this.#pending);
    this.#pending = null;
    this.#hasSet = false;
    this.#error = null;
  }

  #schedule(): void {
    if (this.#pending !== null) return;
    this.#pending = setImmediate(() => {
      this.#pending = null;
      this.#report();
    });
  }

  #report(): void {
    const open = this.#plane;
    const set = open?.plane.current ?? null;
    if (open === null || set === null) {
      if (this.#error !== null) this.#fail(this.#error);
      // Otherwise the open has not finished: it reports once the first set is applied.
      return;
    }
    let endpoints: experimental.Endpoint[];
    try {
      endpoints = endpointsOf(set);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.#fail(e.message);
      return;
    }
    this.#listener(experimental.statusOrFromValue(endpoints), { [PLANE_ATTRIBUTE]: open.plane }, this.#serviceConfig, '');
  }

  #fail(message: string): void {
    const details = `${this.target.text}: ${message}`;
    this.#listener(experimental.statusOrFromError({ code: status.UNAVAILABLE, details, metadata: new Metadata() }), {}, null, '');
  }
}

/** A resolver class for grpc-js's registry, its resolvers logging to `logger`. */
export function resolverClass(logger: Logger): ResolverConstructor {
  return class extends ShardgateResolver {
    constructor(target: experimental.GrpcUri, listener: experimental.ResolverListener, options: ChannelOptions) {
      super(target, listener, options, logger);
    }
  };
}

/**
 * The shardgate policy config a channel's service config chooses, or null when it chooses another
 * policy or none. grpc-js takes the first entry of `loadBalancingConfig` it knows; this does too.
 * grpc-js has already parsed and checked the JSON when it makes the resolver.
 * @throws ConfigError naming the policy field at fault
 */
function chosenPolicy(options: ChannelOptions): ShardgatePolicyConfig | null {
  const text: unknown = options[SERVICE_CONFIG_OPTION];
  if (typeof text !== 'string') return null;
  const doc = JSON.parse(text) as { loadBalancingConfig?: unknown };
  const list = Array.isArray(doc.loadBalancingConfig) ? (doc.loadBalancingConfig as Record<string, unknown>[]) : [];
  for (const entry of list) {
    const name = Object.keys(entry)[0];
    if (name === POLICY_NAME) return ShardgatePolicyConfig.createFromJson(entry[name]);
    if (name !== undefined && experimental.isLoadBalancerNameRegistered(name)) return null;
  }
  return null;
}

/** A set as grpc-js endpoints, one address each, in the set's order. */
function endpointsOf(set: EndpointSet): experimental.Endpoint[] {
  return set.endpoints.map((e) => ({ addresses: [subchannelAddressOf(e.address, `endpoints[${e.index}].address`)] }));
}
