/**
 * The request path of one thread, built from the parsed config: a load board (over the process's
 * shared in-flight counts when given), the balancer, the key source and the proxy. Each worker
 * thread builds its own; only the counts are shared.
 */
import type { Logger } from 'pino';
import type { Balancer } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import { monotonicClock } from '../balancer/clock.js';
import { createBalancer } from '../balancer/factory.js';
import { LoadBoard } from '../balancer/load-board.js';
import type { Rng } from '../balancer/rng.js';
import { entropyRng } from '../balancer/rng.js';
import type { SharedLoads } from '../balancer/shared-loads.js';
import type { ShardgateConfig } from '../config/config.js';
import { loadBoardOptions } from '../config/config.js';
import { parseKeySource } from '../proxy/key-source.js';
import { ShardingProxy } from '../proxy/proxy.js';

export interface DataPlane {
  readonly board: LoadBoard;
  readonly balancer: Balancer;
  readonly proxy: ShardingProxy;
}

export interface DataPlaneDeps {
  readonly logger: Logger;
  /** In-flight counts shared with the process's other threads; absent: the board's own. */
  readonly shared?: SharedLoads | null;
  readonly clock?: Clock;
  readonly rng?: Rng;
}

/** @throws ConfigError when the config cannot build a balancer, key source or proxy */
export function createDataPlane(config: ShardgateConfig, deps: DataPlaneDeps): DataPlane {
  const clock = deps.clock ?? monotonicClock;
  const board = new LoadBoard(clock, { ...loadBoardOptions(config.balancer), shared: deps.shared ?? null });
  const balancer = createBalancer(config.balancer, { clock, rng: deps.rng ?? entropyRng(), board });
  const keySource = config.key === null ? null : parseKeySource(config.key, 'key');
  const proxy = new ShardingProxy({
    balancer,
    board,
    keySource,
    clock,
    endpointHeader: config.proxy.endpointHeader,
    timeouts: config.proxy.timeouts,
    maxHeaderBytes: config.proxy.maxHeaderBytes,
    logger: deps.logger,
  });
  return { board, balancer, proxy };
}
