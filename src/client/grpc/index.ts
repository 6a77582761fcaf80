/**
 * `shardgate/grpc`: routing by key inside a gRPC client, with no proxy on the way. A `shardgate:`
 * target follows the pods of a Service (Kubernetes EndpointSlices, DNS SRV or A records, a list or
 * a file), and the `shardgate` load-balancing policy sends each call to the pod that owns the key
 * in its metadata, the pod `shardgate serve` would route it to with the same balancer and key.
 *
 *   registerShardgate();
 *   const client = new Service('shardgate:k8s/default/sharded-svc:grpc', credentials, {
 *     'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ shardgate: { key: 'x-tenant', balancer: 'ring-hash' } }] }),
 *   });
 */
export { registerShardgate } from './register-shardgate.js';
export type { ShardgateGrpcOptions } from './register-shardgate.js';
export { SCHEME, parseShardgateTarget } from './shardgate-target.js';
export type { ShardgateTarget, TargetDocument } from './shardgate-target.js';
export { POLICY_NAME, ShardgatePolicyConfig } from './shardgate-policy-config.js';
export type { ShardgatePolicyJson } from './shardgate-policy-config.js';
export { grpcCallChannel } from './call-ledger.js';
export type { GrpcCallEvent } from './call-ledger.js';
export { planeChannel } from './shardgate-resolver.js';
export type { GrpcPlaneEvent } from './shardgate-resolver.js';
