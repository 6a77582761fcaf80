/**
 * WebSocket requests as the proxy routes them: picked once by key like any request, then handed
 * to a tunnel (websocket.ts, websocket-h2.ts) for as long as they last. A tunnel holds its pick
 * (it is load on its endpoint) until it ends; its latency sample is the handshake's, not the
 * tunnel's lifetime. A pod that cannot be reached before anything reached the client is retried
 * on the key's next owner, as connect failures of ordinary requests are.
 *
 * Off the request path of ordinary HTTP: a closure or two per WebSocket, which lives for minutes.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Balancer, Outcome } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import type { Endpoint } from '../balancer/endpoint.js';
import type { RoutingKey } from '../balancer/hash.js';
import type { ErrorReply } from './error-reply.js';
import { NO_ENDPOINT_REPLIES } from './error-reply.js';
import type { UpstreamPools } from './upstreams.js';
import type { TunnelOptions, TunnelTarget } from './websocket.js';
import { tunnelExtendedConnect, tunnelUpgrade } from './websocket.js';

/** How a WebSocket reaches its client: an upgraded HTTP/1.1 socket, or an HTTP/2 stream. */
export type WebSocketClient =
  | { readonly kind: 'h1'; readonly req: IncomingMessage; readonly socket: Duplex; readonly head: Buffer }
  | { readonly kind: 'h2'; readonly stream: ServerHttp2Stream; readonly headers: IncomingHttpHeaders };

export interface WebSocketRouting {
  readonly balancer: Balancer;
  readonly pools: UpstreamPools;
  readonly clock: Clock;
  readonly options: TunnelOptions;
  /** Retries on another endpoint when the pod cannot be reached. */
  readonly retries: number;
  /** Answers a client the proxy refuses before any tunnel (no endpoint). */
  refuse(client: WebSocketClient, reply: ErrorReply): void;
  /** Told when the tunnel (or the refusal) is over, once. */
  ended(client: WebSocketClient): void;
  /** Passive health, as for requests. */
  observe: ((endpoint: string, outcome: Outcome, status: number) => void) | null;
}

/**
 * Routes one WebSocket by `key` (null: keyless) with `balancer` (its subset's; the proxy's own by
 * default) and tunnels it; `fields` go to the pod.
 */
export function routeWebSocket(r: WebSocketRouting, client: WebSocketClient, key: RoutingKey | null, fields: readonly string[], balancer: Balancer = r.balancer): void {
  let tried: Set<Endpoint> | null = null;
  const attempt = (): void => {
    const pick = balancer.pick(key, tried);
    if (pick.kind === 'none') {
      r.refuse(client, NO_ENDPOINT_REPLIES[pick.reason]);
      r.ended(client);
      return;
    }
    const endpoint = pick.endpoint;
    const upstream = r.pools.get(endpoint.name);
    const startedMs = r.clock.nowMs();
    if (upstream === undefined) {
      pick.done(startedMs, 'cancelled');
      r.refuse(client, NO_ENDPOINT_REPLIES['all-unavailable']);
      r.ended(client);
      return;
    }
    const target: TunnelTarget = { host: upstream.host, port: upstream.port, tls: upstream.tls, name: endpoint.name };
    let handshakeMs = -1;
    let retried = false;
    const callbacks = {
      onOpen: (): void => {
        handshakeMs = r.clock.nowMs() - startedMs;
      },
      onEnd: (outcome: Outcome, status: number): void => {
        // The sample fed to latency-aware balancers is the handshake, not the tunnel's life.
        const now = r.clock.nowMs();
        pick.done(handshakeMs >= 0 ? now - handshakeMs : startedMs, outcome);
        r.observe?.(endpoint.name, outcome, status);
        if (retried) attempt();
        else r.ended(client);
      },
      retry: (): boolean => {
        tried ??= new Set();
        if (tried.size >= r.retries) return false;
        tried.add(endpoint);
        retried = true;
        return true;
      },
    };
    if (client.kind === 'h1') tunnelUpgrade(client.req, client.socket, client.head, target, fields, r.options, callbacks);
    else tunnelExtendedConnect(client.stream, client.headers, target, fields, r.options, callbacks);
  };
  attempt();
}
