/**
 * Registers the `shardgate:` resolver and the `shardgate` load-balancing policy with grpc-js.
 * grpc-js keeps both registries for the process (a scheme or a policy name has one class), so
 * this is called once, before channels to shardgate: targets are made; calling it again replaces
 * the registrations (with the new logger) for channels made afterwards. Nothing else is shared
 * between channels: each has its own resolver, DataPlane and policy.
 */
import { experimental } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ShardgateLoadBalancer } from './shardgate-load-balancer.js';
import { POLICY_NAME, ShardgatePolicyConfig } from './shardgate-policy-config.js';
import { resolverClass } from './shardgate-resolver.js';
import { SCHEME } from './shardgate-target.js';

export interface ShardgateGrpcOptions {
  /**
   * Where channels log discovery (endpoint sets, refusals, re-resolutions) and outlier ejections;
   * warnings and errors to stderr by default.
   */
  readonly logger?: Logger;
}

export function registerShardgate(options: ShardgateGrpcOptions = {}): void {
  const logger = options.logger ?? pino({ name: 'shardgate', level: 'warn' }, pino.destination({ dest: 2, sync: true }));
  experimental.registerResolver(SCHEME, resolverClass(logger));
  experimental.registerLoadBalancerType(POLICY_NAME, ShardgateLoadBalancer, ShardgatePolicyConfig);
}
