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
  /** Port to listen on; 0 (the default) for an ephemeral one. */
  readonly port?: number;
  /** When `port` is taken, listen on an ephemeral port instead of failing. */
  readonly fallbackToEphemeral?: boolean;
}

export async function startDemoProxy<B extends Balancer>(options: DemoProxyOptions<B>): Promise<DemoProxy<B>> {
  const clock = monotonicClock;
  const board = new LoadBoard(clock);
  const balancer = options.balancer(board, clock);
  const plane = new DataPlane({ clock, logger: pino({ level: 'silent' }), board, balancer, keySource: parseKeySource(`header:${KEY_HEADER}`) });
  plane.apply(options.endpoints);
  const make = (): ShardingProxy => new ShardingProxy({ plane });
  let proxy = make();
  let bound: { host: string; port: number };
  try {
    bound = await proxy.listen(options.port ?? 0, '127.0.0.1');
  } catch (err) {
    if (options.fallbackToEphemeral !== true || (options.port ?? 0) === 0 || !isAddressInUse(err)) {
      await proxy.close();
      throw err;
    }
    // The proxy that could not bind never served; it releases its upstream pools and a fresh one
    // over the same balancer takes its place.
    await proxy.close();
    proxy = make();
    bound = await proxy.listen(0, '127.0.0.1');
  }
  const { host, port } = bound;
  const live = proxy;
  return {
    balancer,
    board,
    host,
    port,
    origin: `http://${host}:${port}`,
    updateEndpoints: (set) => plane.apply(set),
    close: async () => {
      await live.close();
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

/** True when `err`, or an error it wraps (the proxy reports SG_ERR_LISTEN with the socket error as cause), is EADDRINUSE. */
function isAddressInUse(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'EADDRINUSE') return true;
  }
  return false;
}
