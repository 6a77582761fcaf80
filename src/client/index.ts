/**
 * `shardgate/client`: a dispatcher for fetch and undici that routes each request for a key to the
 * pod that owns it, on the same core (balancers, key hash, discovery, retries, health) as
 * `shardgate serve`, so that both name the same owner for a key.
 */
export { createShardDispatcher } from './create-shard-dispatcher.js';
export type { ShardDispatcherOptions } from './create-shard-dispatcher.js';
export { ShardDispatcher } from './shard-dispatcher.js';
export type { KeyFunction, ServiceOptions } from './service-options.js';
export { ShardRoutingError } from './routing-error.js';
export { ConfigError, ShardgateError } from '../errors.js';
