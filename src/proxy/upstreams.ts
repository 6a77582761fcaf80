/**
 * One pool per endpoint, keyed by endpoint NAME and reconciled against each new endpoint set
 * (R2): a new name gets a pool, a removed one is closed after its in-flight requests finish
 * (`close()` waits for them), a name whose address changed gets a new pool while the old one
 * drains. A pool keeps idle keep-alive connections to its pod and opens more while all are busy
 * (no connection limit: a request never waits in a pool queue, so there is no unbounded queue to
 * fill; concurrency is bounded by the client connections the proxy accepts).
 *
 * The pool of an HTTP/1.1 endpoint is an H1Upstream (raw sockets, the proxy's default) or an
 * undici Pool (`h1: 'undici'`, and always for the client library, which sets `authority`: it is
 * built on undici by design). Both behave alike for the Exchange; the raw one costs less CPU.
 *
 * Reconciliation runs off the request path; the request path does one Map lookup by name.
 */
import type { ConnectionOptions } from 'node:tls';
import { Pool, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { EndpointSet } from '../balancer/endpoint.js';
import { ConfigError } from '../errors.js';
import type { UpstreamAddress } from './address.js';
import { parseEndpointAddress } from './address.js';
import { H1Upstream } from './h1-upstream.js';
import type { H2DispatchOptions } from './h2-upstream.js';
import { H2Upstream } from './h2-upstream.js';

export interface UpstreamOptions {
  readonly connectMs: number;
  readonly headersMs: number;
  /** Longest silence between response body chunks; 0 disables. */
  readonly bodyMs: number;
  /** Idle keep-alive connections to an HTTP/1.1 pod are closed after this. */
  readonly idleMs: number;
  readonly maxHeaderBytes: number;
  /** HTTP/2 sessions per `h2c://` or `h2://` endpoint. */
  readonly maxH2Sessions: number;
  /** For `https://` and `h2://` endpoints: trusted CAs, certificate checking. */
  readonly tls?: ConnectionOptions;
  /**
   * The `host[:port]` requests are meant for (the client library's service): each HTTP/1.1 pool
   * then has that origin, so its requests carry it as Host and as TLS server name, and it dials
   * the endpoint's address; absent, a pool's origin is the endpoint's own address (the proxy,
   * which forwards the client's Host itself).
   */
  readonly authority?: string;
  /**
   * What carries requests to `http://` and `https://` endpoints: `raw` (H1Upstream) or `undici`
   * (a Pool). Default `undici`; ignored with `authority` (always undici).
   */
  readonly h1?: H1Transport;
}

export type H1Transport = 'raw' | 'undici';

/** The environment variable that picks the proxy's HTTP/1.1 transport (see proxyH1Transport). */
export const H1_TRANSPORT_ENV = 'SHARDGATE_UPSTREAM_H1';

/**
 * The proxy's HTTP/1.1 transport: `raw` unless SHARDGATE_UPSTREAM_H1 says `undici`, so that the
 * test suite (and an operator who meets a difference) can run the proxy on either.
 * @throws ConfigError for any other value
 */
export function proxyH1Transport(env: NodeJS.ProcessEnv = process.env): H1Transport {
  const value = env[H1_TRANSPORT_ENV];
  if (value === undefined || value === '' || value === 'raw') return 'raw';
  if (value === 'undici') return 'undici';
  throw new ConfigError('SG_ERR_CONFIG', H1_TRANSPORT_ENV, `is "${value}": use raw (the default) or undici`);
}

/** What the Exchange dispatches to: an H1Upstream or an undici Pool (HTTP/1.1), or an H2Upstream. */
export interface UpstreamTransport {
  dispatch(options: H2DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export interface Upstream {
  readonly name: string;
  readonly address: string;
  readonly origin: string;
  readonly protocol: 'h1' | 'h2';
  /** Where the pod listens, for tunnels that dial it themselves (WebSocket). */
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly pool: UpstreamTransport;
}

export class UpstreamPools {
  readonly #options: UpstreamOptions;
  readonly #log: Logger;
  #byName = new Map<string, Upstream>();
  /** Pools of removed or re-addressed endpoints, closing once their requests finish. */
  readonly #retiring = new Map<UpstreamTransport, Promise<void>>();
  #closed = false;

  constructor(options: UpstreamOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
  }

  /**
   * Validates every address of `set` before changing anything, so a bad set leaves the pools as
   * they were. Call before publishing the set to the balancer (see `reconcile`).
   * @throws ConfigError SG_ERR_ENDPOINTS naming the endpoint
   */
  check(set: EndpointSet): ReadonlyMap<string, UpstreamAddress> {
    const parsed = new Map<string, UpstreamAddress>();
    for (const ep of set.endpoints) {
      const current = this.#byName.get(ep.name);
      if (ep.draining || (current !== undefined && current.address === ep.address)) continue;
      parsed.set(ep.name, parseEndpointAddress(ep.address, `endpoints[${ep.index}].address (${ep.name})`));
    }
    return parsed;
  }

  /** Aligns the pools with `set`, using the addresses `check(set)` returned. Idempotent. */
  reconcile(set: EndpointSet, parsed: ReadonlyMap<string, UpstreamAddress>): void {
    if (this.#closed) return;
    const next = new Map<string, Upstream>();
    for (const ep of set.endpoints) {
      // A draining endpoint gets no new requests: its pool closes once its requests finish, which
      // also closes its idle connections. Undrained, it gets a fresh pool.
      if (ep.draining) continue;
      const current = this.#byName.get(ep.name);
      if (current !== undefined && current.address === ep.address) {
        next.set(ep.name, current);
        continue;
      }
      const address = parsed.get(ep.name) ?? parseEndpointAddress(ep.address, `endpoints[${ep.index}].address (${ep.name})`);
      next.set(ep.name, { name: ep.name, address: ep.address, origin: address.origin, protocol: address.protocol, host: address.host, port: address.port, tls: address.tls, pool: this.#createPool(address) });
      if (current !== undefined) {
        this.#log.info({ endpoint: ep.name, from: current.address, to: ep.address }, 'endpoint address changed: new pool, the old one drains');
        this.#retire(current);
      }
    }
    for (const [name, up] of this.#byName) {
      if (!next.has(name)) {
        this.#log.info({ endpoint: name }, 'endpoint removed or draining: its pool closes after its in-flight requests');
        this.#retire(up);
      }
    }
    this.#byName = next;
  }

  get(name: string): Upstream | undefined {
    return this.#byName.get(name);
  }

  /**
   * Closes every pool: gracefully (in-flight requests finish) or, with `force`, at once (in-flight
   * requests fail, which ends their picks as `cancelled` or `reset`).
   */
  async close(force: boolean): Promise<void> {
    this.#closed = true;
    const tasks: Promise<void>[] = [];
    for (const up of this.#byName.values()) tasks.push(force ? up.pool.destroy() : up.pool.close());
    for (const [pool, closing] of this.#retiring) tasks.push(force ? pool.destroy() : closing);
    this.#byName = new Map();
    await Promise.all(tasks.map(settleClosed));
  }

  #retire(up: Upstream): void {
    const pool = up.pool;
    const closing = settleClosed(pool.close())
      .catch((err: unknown) => this.#log.warn({ endpoint: up.name, err }, 'closing the pool of a removed endpoint failed'))
      .finally(() => this.#retiring.delete(pool));
    this.#retiring.set(pool, closing);
  }

  #createPool(address: UpstreamAddress): UpstreamTransport {
    const o = this.#options;
    if (address.protocol === 'h2') {
      return new H2Upstream(
        address.origin,
        { connectMs: o.connectMs, headersMs: o.headersMs, bodyMs: o.bodyMs, maxSessions: o.maxH2Sessions, maxHeaderBytes: o.maxHeaderBytes, ...(o.tls === undefined ? {} : { tls: o.tls }) },
        this.#log,
      );
    }
    const tls = address.tls && o.tls !== undefined ? o.tls : undefined;
    const authority = o.authority;
    if (o.h1 === 'raw' && authority === undefined) {
      return new H1Upstream(
        address,
        { connectMs: o.connectMs, headersMs: o.headersMs, bodyMs: o.bodyMs, idleMs: o.idleMs, maxHeaderBytes: o.maxHeaderBytes, ...(tls === undefined ? {} : { tls }) },
        this.#log,
      );
    }
    return new Pool(authority === undefined ? address.origin : `${address.tls ? 'https' : 'http'}://${authority}`, {
      ...(authority === undefined ? (tls === undefined ? {} : { connect: tls }) : { connect: dialing(address, tls, o.connectMs) }),
      connections: null,
      pipelining: 1,
      connectTimeout: o.connectMs,
      headersTimeout: o.headersMs,
      bodyTimeout: o.bodyMs,
      // undici also honours the pod's `Keep-Alive: timeout=N` (less 2 s) and `Connection: close`,
      // and checks an idle connection for a FIN or RST already received before reusing it.
      keepAliveTimeout: o.idleMs,
      keepAliveMaxTimeout: o.idleMs,
      maxHeaderSize: o.maxHeaderBytes,
      strictContentLength: true,
    });
  }
}

/**
 * A connector that dials the endpoint's address whatever host the pool's origin names: the origin
 * is the service's, the socket the pod's (as undici's dns interceptor sends to a resolved address
 * while keeping the logical Host and server name). Once per connection, not per request.
 */
function dialing(address: UpstreamAddress, tls: ConnectionOptions | undefined, connectMs: number): buildConnector.connector {
  const connect = buildConnector({ ...tls, timeout: connectMs });
  const port = String(address.port);
  return (options, callback) => connect({ ...options, hostname: address.host, port }, callback);
}

/** A pool that is already closed or destroyed is what close() wants; anything else is reported. */
async function settleClosed(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'UND_ERR_DESTROYED' && code !== 'UND_ERR_CLOSED') throw err;
  }
}
