/**
 * One request as the route stage hands it to the dispatch stage (route.ts, dispatch.ts): what it
 * routes with, the client's request and response, and what goes to the pod. It is the record the
 * whole request path passes around, instead of positional arguments: the waiting queue holds it
 * (waiting.ts), and the Exchange sends it, and sends it again on a retry (exchange.ts), so that
 * a request costs one record whichever way it goes.
 */
import type { Readable } from 'node:stream';
import type { Balancer } from '../balancer/balancer.js';
import type { RoutingKey } from '../balancer/hash.js';
import type { ClientRequest, ClientResponse } from './client-response.js';
import type { ExchangeRequest } from './exchange.js';
import type { RouteGeneration } from './route-generation.js';

export class RoutedRequest implements ExchangeRequest {
  /** What the request routes with to its end, whatever a reload does meanwhile. */
  readonly generation: RouteGeneration;
  /** The balancer it is picked by (its subset's, or the plane's), and its retries too. */
  readonly balancer: Balancer;
  readonly req: ClientRequest;
  readonly res: ClientResponse;
  readonly method: string;
  /** The origin-form target sent to the pod. */
  readonly path: string;
  /** The field lines for the pod, flat [name, value, ...] (headers.ts). */
  readonly headers: string[];
  /** The routing key; set once it is known (a JSON body key only after the body is read). */
  key: RoutingKey | null = null;
  /** The client's request stream, its body read whole, or null for none. */
  body: Readable | Buffer | null = null;
  /** A gRPC call's deadline in ms from now, or null. */
  deadlineMs: number | null = null;
  /** While it waits for capacity (waiting.ts): the proxy clock's time it started waiting, and its timer. */
  sinceMs = 0;
  timer: NodeJS.Timeout | null = null;

  constructor(generation: RouteGeneration, balancer: Balancer, req: ClientRequest, res: ClientResponse, path: string, headers: string[]) {
    this.generation = generation;
    this.balancer = balancer;
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    this.path = path;
    this.headers = headers;
  }

  /** A body not yet read to its end, which a refusal leaves unread (the HTTP/1.1 connection then closes). */
  get bodyUnread(): boolean {
    return this.body !== null && !this.req.complete;
  }
}
