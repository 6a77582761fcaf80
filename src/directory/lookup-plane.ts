/**
 * A data plane for lookups alone: `shardgate directory`, the directory beside worker threads,
 * `shardgate plan` and a pod's ownership helper. Built from the same config as a proxy's, so the
 * key transform, the subsets, the algorithm and its options are the same and so are the owners;
 * but without passive or active health, since nothing is sent through it (its balancer never
 * picks: lookups ask HashingBalancer.home).
 */
import type { Logger } from 'pino';
import type { ShardgateConfig } from '../config/config.js';
import { createDataPlane } from '../dataplane/create-data-plane.js';
import type { DataPlane } from '../dataplane/data-plane.js';

export function createLookupPlane(config: ShardgateConfig, logger: Logger): DataPlane {
  return createDataPlane({ ...config, proxy: { ...config.proxy, outlier: null, healthCheck: null } }, { logger });
}
