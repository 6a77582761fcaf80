/**
 * A proxy in front of real backends, all on 127.0.0.1 ephemeral ports, with a seeded balancer and
 * a visible load board, for the proxy tests. `stop()` closes the proxy and the backends.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type { Balancer } from '../../src/balancer/balancer.js';
import type { Endpoint, EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { Algorithm, BalancerConfig } from '../../src/balancer/factory.js';
import { createBalancer, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { monotonicClock } from '../../src/balancer/clock.js';
import { seededRng } from '../../src/balancer/rng.js';
import type { ExchangeEvent } from '../../src/proxy/exchange.js';
import { parseKeySource } from '../../src/proxy/key-source.js';
import type { ProxyOptions, ProxyTimeouts } from '../../src/proxy/proxy.js';
import { ShardingProxy } from '../../src/proxy/proxy.js';
import { DataPlane } from '../../src/dataplane/data-plane.js';
import type { KeyTransform } from '../../src/balancer/key-transform.js';
import type { OutlierDetector } from '../../src/balancer/outlier-detector.js';
import type { SubsetRouter } from '../../src/balancer/subsets.js';
import type { HealthChecker } from '../../src/proxy/health-check.js';
import type { Retrier } from '../../src/proxy/retries.js';
import type { Backend } from '../helpers/backends.js';
import { closeBackends, endpointSpecs } from '../helpers/backends.js';

export interface HarnessOptions {
  readonly algorithm?: Algorithm;
  /** A full balancer config; overrides `algorithm`. */
  readonly config?: BalancerConfig;
  /** A key source spec, or null for keyless; default `header:x-affinity`. */
  readonly keySource?: string | null;
  readonly backends?: readonly Backend[];
  /** Extra endpoints (dead ones, say) besides the backends. */
  readonly endpoints?: readonly EndpointSpec[];
  readonly timeouts?: Partial<ProxyTimeouts>;
  readonly endpointHeader?: boolean;
  readonly maxHeaderBytes?: number;
  readonly seed?: number;
  /** Default: a silent logger. */
  readonly logger?: Logger;
  /** The load board to build the balancer on (one made here otherwise). */
  readonly board?: LoadBoard;
  /** Any other proxy option (TLS, limits...), and the plane's retries, health and subsets. */
  readonly proxy?: Partial<Omit<ProxyOptions, 'plane'>> & PlaneOptions;
}

/** What the harness puts on the data plane besides the balancer, board and key source. */
export interface PlaneOptions {
  readonly retries?: Retrier;
  readonly outlier?: OutlierDetector;
  readonly healthChecker?: HealthChecker;
  readonly subsets?: SubsetRouter | null;
  readonly keyTransform?: KeyTransform | null;
  readonly onConnectFailure?: (endpoint: Endpoint) => void;
}

export interface Harness {
  readonly proxy: ShardingProxy;
  /** The proxy's data plane: `h.plane.apply(set)` is what discovery does. */
  readonly plane: DataPlane;
  readonly balancer: Balancer;
  readonly board: LoadBoard;
  readonly port: number;
  readonly origin: string;
  readonly backends: readonly Backend[];
  /** Closes the proxy, then the backends. */
  stop(): Promise<void>;
}

export async function startProxy(options: HarnessOptions = {}): Promise<Harness> {
  const clock = monotonicClock;
  const board = options.board ?? new LoadBoard(clock);
  const config = options.config ?? defaultBalancerConfig(options.algorithm ?? 'ring-hash');
  const balancer = createBalancer(config, { clock, rng: seededRng(options.seed ?? 1), board });
  const keySource = options.keySource === undefined ? 'header:x-affinity' : options.keySource;
  const { retries, outlier, healthChecker, subsets, keyTransform, onConnectFailure, ...proxyOptions } = options.proxy ?? {};
  const plane = new DataPlane({
    clock,
    logger: options.logger ?? pino({ level: 'silent' }),
    board,
    balancer,
    keySource: keySource === null ? null : parseKeySource(keySource),
    retries: retries ?? null,
    outlier: outlier ?? null,
    health: healthChecker ?? null,
    subsets: subsets ?? null,
    keyTransform: keyTransform ?? null,
    onConnectFailure: onConnectFailure ?? null,
  });
  const proxy = new ShardingProxy({
    plane,
    ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
    ...(options.endpointHeader === undefined ? {} : { endpointHeader: options.endpointHeader }),
    ...(options.maxHeaderBytes === undefined ? {} : { maxHeaderBytes: options.maxHeaderBytes }),
    ...proxyOptions,
  });
  const backends = options.backends ?? [];
  plane.apply(createEndpointSet([...endpointSpecs(backends), ...(options.endpoints ?? [])], 1));
  const { port } = await proxy.listen(0, '127.0.0.1');
  return {
    proxy,
    plane,
    balancer,
    board,
    port,
    origin: `${options.proxy?.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    backends,
    stop: async () => {
      await proxy.close();
      await plane.close();
      await closeBackends(backends);
    },
  };
}

/** Polls `condition` every 5 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** R4: every pick was ended. Waits briefly, since a cancelled request ends asynchronously. */
export async function assertNoInflight(h: Harness): Promise<void> {
  await waitFor(() => h.board.totalInflight === 0 && h.board.loads.every((l) => l.inflight === 0), 'in-flight to return to 0');
  for (const l of h.board.loads) assert.equal(l.inflight, 0, `${l.endpoint.name} still has ${l.inflight} in flight`);
  assert.equal(h.board.totalInflight, 0);
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One request through `client`, body read to the end. */
export async function send(client: Dispatcher, path: string, options: Partial<Dispatcher.RequestOptions> = {}): Promise<Reply> {
  const r = await client.request({ method: 'GET', ...options, path });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text };
}

/** A client with one keep-alive connection. */
export function oneConnection(h: Harness): Client {
  return new Client(h.origin, { pipelining: 1 });
}

/** Collects the proxy's per-pick events (outcome, endpoint, status) until `stop()`. */
export function recordExchanges(): { readonly events: ExchangeEvent[]; stop(): void } {
  const events: ExchangeEvent[] = [];
  const onEvent = (message: unknown): void => {
    events.push(message as ExchangeEvent);
  };
  diagnostics.subscribe('shardgate:proxy:exchange', onEvent);
  return { events, stop: () => diagnostics.unsubscribe('shardgate:proxy:exchange', onEvent) };
}

/**
 * A debug logger whose log lines the test can wait for: `next(msg)` resolves when a line with that
 * `msg` is logged after the call, so a test can order its steps after the proxy's own.
 */
export function watchedLogger(): { readonly logger: Logger; next(msg: string): Promise<void> } {
  let waiters: { msg: string; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback): void {
      const msg = (JSON.parse(chunk.toString('utf8')) as { msg?: string }).msg;
      waiters = waiters.filter((w) => {
        if (w.msg !== msg) return true;
        w.resolve();
        return false;
      });
      callback();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    next: (msg) => new Promise<void>((resolve) => waiters.push({ msg, resolve })),
  };
}

/** A data plane with only a balancer on its board and no key source: for proxies built by hand. */
export function barePlane(balancer: Balancer, board: LoadBoard): DataPlane {
  return new DataPlane({ clock: monotonicClock, logger: pino({ level: 'silent' }), board, balancer, keySource: null });
}
