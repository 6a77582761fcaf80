/**
 * `shardgate/balancer`: the balancer core for those who embed it in their own router, queue
 * consumer or RPC layer. The same algorithms, endpoint sets and key hash as `shardgate serve`,
 * the client library and the directory, so an embedding names the same owner for a key as they
 * do (given the same endpoint names, algorithm and options).
 *
 *   import { createBalancer, createEndpointSet, defaultBalancerConfig, hashKey, monotonicClock, entropyRng } from 'shardgate/balancer';
 *   const lb = createBalancer(defaultBalancerConfig('ring-hash', 1.25), { clock: monotonicClock, rng: entropyRng() });
 *   lb.update(createEndpointSet([{ name: 'pod-0', address: '10.0.0.1:8080' }, { name: 'pod-1', address: '10.0.0.2:8080' }]));
 *   const p = lb.pick(hashKey('acct-42'), null);
 *   if (p.kind === 'ok') { const t0 = monotonicClock.nowMs(); try { ... } finally { p.done(t0, 'ok'); } }
 *
 * `pick` is synchronous and never throws ("no endpoint" is a NoPick value with a reason); every
 * Pick must be ended by exactly one `done`, which keeps in-flight counts and latency right.
 */
export { createBalancer, defaultBalancerConfig, ALGORITHMS, KEYED_ALGORITHMS, KEYLESS_ALGORITHMS, DEFAULT_KEYLESS, DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_PEAK_EWMA, DEFAULT_RING } from './factory.js';
export type { Algorithm, BalancerConfig, BalancerDeps, KeyedAlgorithm, KeyedConfig, KeylessAlgorithm, KeylessConfig, OnMissing } from './factory.js';
export type { Balancer, Exclusion, NoPick, NoPickReason, Outcome, Pick, PickResult } from './balancer.js';
export { NO_PICK } from './balancer.js';
export { createEndpointSet, EMPTY_SET, MAX_WEIGHT } from './endpoint.js';
export type { Endpoint, EndpointSet, EndpointSpec } from './endpoint.js';
export { hashKey } from './hash.js';
export type { RoutingKey } from './hash.js';
export { ManualClock, monotonicClock } from './clock.js';
export type { Clock } from './clock.js';
export { entropyRng, seededRng } from './rng.js';
export type { Rng } from './rng.js';
export { LoadBoard } from './load-board.js';
export type { LoadBoardOptions } from './load-board.js';
export { ConfigError, ShardgateError } from '../errors.js';
