/**
 * A DataPlane built from the parsed config: a load board (over the process's shared in-flight
 * counts when given), the balancer (preferring the proxy's zone for requests without a key, when
 * one is set), the subsets chosen by request headers (each a balancer of the same algorithm and
 * options on a view of the one board), the key source and transform, retries and their budget,
 * passive and active health. `shardgate serve` builds one per thread; with `--workers N` each
 * worker thread builds its own and only the in-flight counts are shared. Fronts (the proxy:
 * src/proxy/create-proxy.ts) are built on it.
 */
import type { Logger } from 'pino';
import type { Balancer } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import { monotonicClock } from '../balancer/clock.js';
import type { Endpoint } from '../balancer/endpoint.js';
import { createBalancer } from '../balancer/factory.js';
import { parseKeyTransform } from '../balancer/key-transform.js';
import { LoadBoard } from '../balancer/load-board.js';
import { SubsetRouter } from '../balancer/subsets.js';
import { OutlierDetector } from '../balancer/outlier-detector.js';
import { RetryBudget } from '../balancer/retry-budget.js';
import type { Rng } from '../balancer/rng.js';
import { entropyRng } from '../balancer/rng.js';
import type { SharedLoads } from '../balancer/shared-loads.js';
import type { ShardgateConfig } from '../config/config.js';
import { loadBoardOptions } from '../config/config.js';
import { HealthChecker } from '../proxy/health-check.js';
import { parseKeySource } from '../proxy/key-source.js';
import { Retrier } from '../proxy/retries.js';
import { DataPlane } from './data-plane.js';

export interface DataPlaneDeps {
  readonly logger: Logger;
  /** In-flight counts shared with the process's other threads; absent: the board's own. */
  readonly shared?: SharedLoads | null;
  readonly clock?: Clock;
  readonly rng?: Rng;
  /** Told of connections to an endpoint that could not be made (DataPlaneParts.onConnectFailure). */
  readonly onConnectFailure?: ((endpoint: Endpoint) => void) | null;
}

/** @throws ConfigError when the config cannot build a balancer, key source or transform */
export function createDataPlane(config: ShardgateConfig, deps: DataPlaneDeps): DataPlane {
  const clock = deps.clock ?? monotonicClock;
  const logger = deps.logger;
  const px = config.proxy;
  const board = new LoadBoard(clock, { ...loadBoardOptions(config.balancer), maxInflight: px.maxInflight, shared: deps.shared ?? null });
  const rng = deps.rng ?? entropyRng();
  const zone = config.zone === null ? null : { zone: config.zone, minEndpoints: config.zoneMinEndpoints };
  // Every subset builds the same algorithm, zone preference included, on its view of the board.
  const build = (b: LoadBoard): Balancer => createBalancer(config.balancer, { clock, rng, board: b, zone });
  const balancer = build(board);
  const subsets = config.subsets === null ? null : new SubsetRouter(config.subsets, board, build, balancer);
  const keySource = config.key === null ? null : parseKeySource(config.key, 'key');
  const keyTransform = config.keyTransform === null ? null : parseKeyTransform(config.keyTransform, 'keyTransform');
  const retries = px.retries.retries === 0 ? null : new Retrier(px.retries, new RetryBudget(clock, px.retries.budget));
  const outlier =
    px.outlier === null ? null : new OutlierDetector({ board, rng, options: px.outlier, onEvent: (e) => logger.warn({ outlier: e }, `endpoint ${e.endpoint}: ${e.kind}`) });
  const health =
    px.healthCheck === null
      ? null
      : new HealthChecker({
          board,
          rng,
          options: px.healthCheck,
          onEvent: (e) => {
            if (e.kind !== 'checked') logger.warn({ health: e }, `endpoint ${e.endpoint}: health check ${e.kind}`);
            // A passing check ends an ejection early, as Envoy's active checks do.
            else if (e.passed && outlier?.isEjected(e.endpoint) === true) outlier.readmit(e.endpoint);
          },
        });
  return new DataPlane({ clock, logger, board, balancer, subsets, keySource, keyTransform, retries, outlier, health, onConnectFailure: deps.onConnectFailure ?? null });
}
