/**
 * A shardgate proxy in front of the demo's pods: one LoadBoard, one balancer built on it, the key
 * read from the `x-account` header. Each scene starts its own, so that no scene's in-flight counts
 * or round-robin position leak into the next.
 */
import type { Balancer } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import { monotonicClock } from '../balancer/clock.js';
import type { EndpointSet } from '../balancer/endpoint.js';
import type { BalancerConfig } from '../balancer/factory.js';
import { createBalancer } from '../balancer/factory.js';
import { HashingBalancer } from '../balancer/hashing-balancer.js';
import { LoadBoard } from '../balancer/load-board.js';
import { seededRng } from '../balancer/rng.js';
import { parseKeySource } from '../proxy/key-source.js';
import { ShardingProxy } from '../proxy/proxy.js';
import { DataPlane } from '../dataplane/data-plane.js';
import { pino } from 'pino';

export const KEY_HEADER = 'x-account';

export interface DemoProxy<B extends Balancer> {
  readonly balancer: B;
  readonly board: LoadBoard;
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly origin: string;
  /** What discovery does when pods come or go: hands the proxy a whole new set. */
  updateEndpoints(set: EndpointSet): void;
  close(): Promise<void>;
}

export interface DemoProxyOptions<B extends Balancer> {
  /** Builds the balancer on the proxy's board and clock. */
  readonly balancer: (board: LoadBoard, clock: Clock) => B;
  readonly endpoints: EndpointSet;
}

export async function startDemoProxy<B extends Balancer>(options: DemoProxyOptions<B>): Promise<DemoProxy<B>> {
  const clock = monotonicClock;
  const board = new LoadBoard(clock);
  const balancer = options.balancer(board, clock);
  const plane = new DataPlane({ clock, logger: pino({ level: 'silent' }), board, balancer, keySource: parseKeySource(`header:${KEY_HEADER}`) });
  plane.apply(options.endpoints);
  const proxy = new ShardingProxy({ plane });
  let bound: { host: string; port: number };
  try {
    bound = await proxy.listen(0, '127.0.0.1');
  } catch (err) {
    await proxy.close();
    await plane.close();
    throw err;
  }
  const { host, port } = bound;
  return {
    balancer,
    board,
    host,
    port,
    origin: `http://${host}:${port}`,
    updateEndpoints: (set) => plane.apply(set),
    close: async () => {
      await proxy.close();
      await plane.close();
    },
  };
}

/** A hashing balancer from its config, with the owner lookup and spill counts the scenes report. */
export function createHashingBalancer(config: BalancerConfig, board: LoadBoard, clock: Clock, seed: number): HashingBalancer {
  const b = createBalancer(config, { clock, rng: seededRng(seed), board });
  if (!(b instanceof HashingBalancer)) throw new TypeError(`balancer.algorithm is ${config.algorithm}: the demo needs a keyed (hashing) algorithm here`);
  return b;
}
