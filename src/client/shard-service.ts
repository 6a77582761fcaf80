/**
 * One managed service of the dispatcher: its own DataPlane (createDataPlane, from the service's
 * config) following its endpoint source (followSets: a list, a watched file, DNS SRV/A with its
 * TTLs, Kubernetes EndpointSlices), with a DNS re-resolution at once when a connection to a pod
 * fails; and one undici Pool per endpoint name (UpstreamPools, the proxy's), attached to the plane
 * as its transport, so that a new pod gets a pool and a removed one's pool closes once its requests
 * in flight have finished (drained, not cut).
 *
 * Each pool has the service's origin and dials its pod's address (UpstreamPools' `authority`):
 * requests keep the Host and TLS server name the caller addressed, as undici's dns interceptor
 * keeps them, and the caller's dispatch options go to the pool as they are, with no per-request
 * copy.
 *
 * `route()` is the request path: the subset (when selector headers are configured), the key (from
 * the configured header, cookie, query or path, or the per-request function; transformed and
 * hashed by the plane, as the proxy does), one pick, one Map lookup, one dispatch.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Balancer, NoPickReason } from '../balancer/balancer.js';
import type { EndpointSet } from '../balancer/endpoint.js';
import type { RoutingKey } from '../balancer/hash.js';
import { attribute } from '../config/origin.js';
import { readUpstreamTls } from '../config/tls-files.js';
import { createDataPlane } from '../dataplane/create-data-plane.js';
import type { DataPlane, Transport } from '../dataplane/data-plane.js';
import { followSets } from '../dataplane/follow-sets.js';
import type { SetFollower } from '../dataplane/follow-sets.js';
import { describeEndpoints, openEndpointSource, refreshOnConnectFailure } from '../discovery/configured-source.js';
import type { ConfiguredSource } from '../discovery/configured-source.js';
import type { RefreshLimiter } from '../discovery/refresh-limiter.js';
import { ConfigError, ShardgateError } from '../errors.js';
import type { UpstreamAddress } from '../proxy/address.js';
import { keyText } from '../proxy/key-source.js';
import { UpstreamPools } from '../proxy/upstreams.js';
import { headerValue } from './request-headers.js';
import { LegacyRequest } from './legacy-request.js';
import type { RoutedRequest, RoutedService } from './routed-request.js';
import { ShardRoutingError, noEndpointErrors } from './routing-error.js';
import type { KeyFunction, ParsedService } from './service-options.js';

/** How often closing looks whether the requests in flight have finished. */
const IDLE_POLL_MS = 10;

export interface ServiceDeps {
  readonly logger: Logger;
  /** How long opening waits for the source's first endpoint set. */
  readonly firstSetTimeoutMs: number;
}

interface ServiceParts {
  readonly parsed: ParsedService;
  readonly plane: DataPlane;
  readonly pools: UpstreamPools;
  readonly transport: Transport;
  readonly configured: ConfiguredSource;
  readonly reresolve: RefreshLimiter | null;
}

export class ShardService implements RoutedService {
  /** The name as configured (`sharded-svc.ns.svc:8080`). */
  readonly name: string;
  /** The origin its requests carry (`http://sharded-svc.ns.svc:8080`). */
  readonly origin: string;
  readonly plane: DataPlane;
  readonly #pools: UpstreamPools;
  readonly #transport: Transport;
  readonly #configured: ConfiguredSource;
  readonly #reresolve: RefreshLimiter | null;
  readonly #keyFunction: KeyFunction | null;
  readonly #noEndpoint: Readonly<Record<NoPickReason, ShardRoutingError>>;
  /** Selector header values of the request being routed, reused (the request path is synchronous). */
  readonly #selectorValues: (string | undefined)[] = [];
  readonly #graceMs: number;
  /** Where its endpoints come from, for messages. */
  readonly #source: string;
  #follower: SetFollower | null = null;
  #closed: Promise<void> | null = null;
  #force = false;

  private constructor(parts: ServiceParts) {
    const parsed = parts.parsed;
    this.name = parsed.name;
    this.origin = parsed.origin.origin;
    this.plane = parts.plane;
    this.#pools = parts.pools;
    this.#transport = parts.transport;
    this.#configured = parts.configured;
    this.#reresolve = parts.reresolve;
    this.#keyFunction = parsed.keyFunction;
    this.#noEndpoint = noEndpointErrors(parsed.name);
    this.#graceMs = parsed.config.proxy.timeouts.shutdownGraceMs;
    this.#source = describeEndpoints(parsed.config.endpoints);
  }

  /**
   * Opens the service's source and plane and resolves once its first endpoint set is in place.
   * @throws ConfigError naming the service when its endpoints, files or first set cannot be used
   * @throws ShardgateError SG_ERR_DISCOVERY when no set arrives within `firstSetTimeoutMs`
   */
  static async open(parsed: ParsedService, deps: ServiceDeps): Promise<ShardService> {
    const config = parsed.config;
    const origin = { file: parsed.label };
    const log = deps.logger.child({ service: parsed.name });
    let tls;
    let configured: ConfiguredSource;
    try {
      tls = await readUpstreamTls(config.proxy.upstreamTls);
      configured = await openEndpointSource(config.endpoints);
    } catch (e) {
      throw e instanceof ConfigError ? attribute(e, origin) : e;
    }
    const reresolve = refreshOnConnectFailure(configured, log);
    const plane = createDataPlane(config, { logger: log, onConnectFailure: reresolve === null ? null : (e) => reresolve.request(e.name) });
    const t = config.proxy.timeouts;
    const pools = new UpstreamPools(
      { connectMs: t.connectMs, headersMs: t.upstreamHeadersMs, bodyMs: t.upstreamBodyMs, idleMs: t.upstreamIdleMs, maxHeaderBytes: config.proxy.maxHeaderBytes, maxH2Sessions: 1 /* HTTP/2 endpoints are refused */, tls, authority: parsed.origin.authority },
      log,
    );
    const transport: Transport = {
      check: (set) => checkHttp1(pools.check(set), set),
      reconcile: (set, checked) => pools.reconcile(set, checked as ReadonlyMap<string, UpstreamAddress>),
    };
    plane.attach(transport);
    const service = new ShardService({ parsed, plane, pools, transport, configured, reresolve });
    try {
      await service.#follow(deps.firstSetTimeoutMs, log);
    } catch (e) {
      await service.close(true);
      throw e instanceof ConfigError ? attribute(e, origin) : e;
    }
    return service;
  }

  /**
   * Routes a request whose handler speaks undici's callback API (legacy-request.ts), retried by
   * the service's own rules.
   */
  dispatchLegacy(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.route(new LegacyRequest(this, opts, handler));
  }

  /**
   * Picks an endpoint for the request's next attempt and dispatches it to that endpoint's pool;
   * a request no endpoint can take fails (its first attempt) with a ShardRoutingError. Returns
   * undici's back-pressure signal.
   */
  route(req: RoutedRequest & Dispatcher.DispatchHandler): boolean {
    const opts = req.opts;
    if (req.attempt === 0) {
      const lb = this.#balancerFor(opts);
      if (lb === null) {
        req.unrouted(this.#noSubset());
        return true;
      }
      req.balancer = lb;
      const fn = this.#keyFunction;
      if (fn === null) req.key = this.#keyOf(opts);
      else {
        try {
          req.key = this.plane.key(fn(opts));
        } catch (e) {
          req.unrouted(e instanceof Error ? e : new Error(String(e)));
          return true;
        }
      }
    }
    const pick = req.balancer!.pick(req.key, req.tried);
    if (pick.kind === 'none') {
      req.unrouted(this.#noEndpoint[pick.reason]);
      return true;
    }
    const nowMs = this.plane.clock.nowMs();
    const upstream = this.#pools.get(pick.endpoint.name);
    if (upstream === undefined) {
      // The balancer and the pools follow the same set; an endpoint without a pool is a bug.
      pick.done(nowMs, 'cancelled');
      this.plane.log.error({ endpoint: pick.endpoint.name }, 'picked endpoint has no pool');
      req.unrouted(this.#noEndpoint.empty);
      return true;
    }
    req.begin(pick, nowMs);
    if (req.attempt === 1) this.plane.retries?.requested();
    // HTTP/1.1 endpoints only (checkHttp1): the pool is an undici Pool, which takes undici's options.
    return (upstream.pool as unknown as Dispatcher).dispatch(opts, req);
  }

  /**
   * Stops following the source, then closes the pools: at once with `force` (requests in flight
   * fail), otherwise once the requests in flight have finished, for at most
   * `proxy.timeouts.shutdownGraceMs`. Idempotent.
   */
  close(force: boolean): Promise<void> {
    // A forced close while a graceful one waits for requests in flight cuts them now.
    if (force) this.#force = true;
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#follower?.unsubscribe();
    this.#reresolve?.close();
    this.#configured.dns?.close();
    this.plane.detach(this.#transport);
    const drained = this.#force ? false : await this.#whenIdle();
    await this.#pools.close(!drained);
    await this.plane.close();
  }

  async #follow(timeoutMs: number, log: Logger): Promise<void> {
    const plane = this.plane;
    const follower = followSets(this.#configured.source, (set) => plane.apply(set), { logger: log });
    this.#follower = follower;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const from = this.#source;
        reject(new ShardgateError('SG_ERR_DISCOVERY', `services[${JSON.stringify(this.name)}]: no endpoint set arrived from ${from} within ${timeoutMs} ms: check the discovery source (the log says what failed), or raise firstSetTimeoutMs`));
      }, timeoutMs);
    });
    try {
      await Promise.race([follower.first, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves true once nothing is in flight, false when the grace period ends first. Polled: the
   * board tells of freed room only where a limit is set, and closing is off the request path.
   */
  #whenIdle(): Promise<boolean> {
    const board = this.plane.board;
    if (board.totalInflight === 0) return Promise.resolve(true);
    const deadline = this.plane.clock.nowMs() + this.#graceMs;
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        const idle = board.totalInflight === 0;
        if (!idle && !this.#force && this.plane.clock.nowMs() < deadline) return;
        clearInterval(poll);
        resolve(idle);
      }, IDLE_POLL_MS);
    });
  }

  /** The balancer for the request: its subset's by the selector headers, or the plane's own; null: no subset. */
  #balancerFor(opts: Dispatcher.DispatchOptions): Balancer | null {
    const subsets = this.plane.subsets;
    if (subsets === null) return this.plane.balancer;
    const names = subsets.headers;
    const values = this.#selectorValues;
    for (let i = 0; i < names.length; i++) values[i] = headerValue(opts.headers, names[i]!);
    return subsets.select(values);
  }

  #noSubset(): ShardRoutingError {
    const detail = this.plane.subsets!.describeMiss(this.#selectorValues);
    return new ShardRoutingError(this.name, 'no-subset', `no subset serves the request: ${detail}`);
  }

  #keyOf(opts: Dispatcher.DispatchOptions): RoutingKey | null {
    const source = this.plane.keySource;
    if (source === null) return null;
    const header = source.header === null ? undefined : headerValue(opts.headers, source.header);
    return this.plane.key(keyText(source, opts.path, header));
  }
}

/**
 * The dispatcher speaks HTTP/1.1 (and HTTPS) to pods, as fetch does: an `h2c://` or `h2://`
 * endpoint is refused by name, and the set with it.
 */
function checkHttp1(parsed: ReadonlyMap<string, UpstreamAddress>, set: EndpointSet): ReadonlyMap<string, UpstreamAddress> {
  for (const [name, address] of parsed) {
    if (address.protocol !== 'h2') continue;
    const ep = set.endpoints.find((e) => e.name === name)!;
    throw new ConfigError('SG_ERR_ENDPOINTS', `endpoints[${ep.index}].address (${name})`, `is ${JSON.stringify(ep.address)}: the dispatcher sends HTTP/1.1 to pods; give the pod's HTTP/1.1 address (host:port, http:// or https://), or route HTTP/2 and gRPC through shardgate serve`);
  }
  return parsed;
}
