/**
 * What the proxy's stages share (front.ts, route.ts, dispatch.ts): the generation new requests
 * route with and the ones still finishing, whether the proxy is closing, its clock, log and body
 * timeouts, and the one way the proxy answers a request itself.
 */
import type { Logger } from 'pino';
import type { Clock } from '../balancer/clock.js';
import type { BodyTimeouts } from './body-timeout.js';
import type { ClientResponse } from './client-response.js';
import type { ErrorReply } from './error-reply.js';
import { sendReply } from './error-reply.js';
import type { RouteGeneration } from './route-generation.js';

export class ProxyState {
  /** What new requests route with; replaced whole by a reload. Set by the proxy before it listens. */
  gen!: RouteGeneration;
  /** Generations a reload replaced whose requests are still under way. */
  readonly retiring = new Set<RouteGeneration>();
  /** Set once close() starts. */
  closing = false;
  readonly clock: Clock;
  readonly log: Logger;
  readonly bodyTimeouts: BodyTimeouts;

  constructor(clock: Clock, log: Logger, bodyTimeouts: BodyTimeouts) {
    this.clock = clock;
    this.log = log;
    this.bodyTimeouts = bodyTimeouts;
  }

  /**
   * Answers without asking a pod. `close` ends the connection afterwards: for a malformed request,
   * and for an unread body, which Node would otherwise read to the end for nothing.
   */
  refuse(res: ClientResponse, reply: ErrorReply, close: boolean): void {
    sendReply(res, reply, null, close || this.closing || (!res.h2 && res.closeWhenDone));
  }
}
