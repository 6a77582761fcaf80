/**
 * The proxy's response classes, one per client protocol, so that the request path can find a
 * request's exchange and state from its response without a side table. Node's HTTP/1.1 server and
 * HTTP/2 compatibility layer both construct them (the `ServerResponse` and `Http2ServerResponse`
 * server options), and the rest of the data plane treats them alike.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Exchange } from './exchange.js';
import type { ErrorReply } from './error-reply.js';
import type { RawRequest } from './raw-request.js';
import type { RawResponse } from './raw-response.js';

/** What routed a request (the proxy's route generation), given back when its response closes. */
export interface RouteLease {
  release(): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the mixin pattern's constructor type
type Constructor<T> = abstract new (...args: any[]) => T;

/**
 * What the proxy keeps on an HTTP/1.1 response, whichever path made it (Node's server: ProxyResponse;
 * the raw path: RawResponse), as fields of the response itself, so that a request costs no side table.
 */
export function withHttp1State<T extends Constructor<object>>(Base: T) {
  abstract class Http1State extends Base {
    readonly h2 = false;
    exchange: Exchange | null = null;
    /** The proxy has handled this response's close (see the front's responseClosed). */
    closeSeen = false;
    /**
     * A request pipelined behind this one was malformed while this one was still under way or
     * queued: close the connection after this response.
     */
    closeWhenDone = false;
    /**
     * The client connection that carries this response, until the response closes, where Node's
     * server may queue it. Kept here because neither `res.socket` (detached when the response
     * finishes) nor `req.socket` (null once the request stream is destroyed, which undici does
     * when it has sent a body) still names it by then.
     */
    clientSocket: Socket | null = null;
    /** A gRPC call: the proxy's own failures are answered as gRPC statuses. */
    grpc = false;
    /** The client sent `Expect: 100-continue` and has had no `100 Continue` yet (see sendContinue). */
    continuePending = false;
    /** When the proxy took the request (the clock's ms), for the request's total time. */
    startedMs = 0;
    /** The proxy's own answer (a refusal, a failure), if it sent one: its code names the cause. */
    reply: ErrorReply | null = null;
    /** The route generation the request took (route-generation.ts), until the response closes. */
    generation: RouteLease | null = null;
  }
  return Http1State;
}

export class ProxyResponse extends withHttp1State(ServerResponse) {}

export class H2ProxyResponse extends Http2ServerResponse {
  readonly h2 = true;
  exchange: Exchange | null = null;
  closeSeen = false;
  grpc = false;
  continuePending = false;
  startedMs = 0;
  reply: ErrorReply | null = null;
  generation: RouteLease | null = null;
}

/** A response on Node's HTTP/1.1 server, its HTTP/2 compatibility layer, or the raw HTTP/1.1 path (raw-front.ts). */
export type ClientResponse = ProxyResponse | H2ProxyResponse | RawResponse;

/**
 * The client is gone: writes go nowhere. (Node's HTTP/2 response is typed as a Writable but is
 * not one at run time: its stream knows.)
 */
export function responseGone(res: ClientResponse): boolean {
  return res.h2 ? res.stream.destroyed : res.destroyed;
}

/**
 * Writes the status and a flat [name, value, ...] field list. Node's HTTP/2 response takes such a
 * list too (its raw headers form), though its types admit only an object.
 */
export function writeHeadTo(res: ClientResponse, status: number, headers: readonly (string | string[])[]): void {
  if (res.h2) res.writeHead(status, headers as unknown as OutgoingHttpHeaders);
  else res.writeHead(status, headers as (string | string[])[]);
}

/** Writes a body chunk; false asks the writer to wait for 'drain'. */
export function writeTo(res: ClientResponse, chunk: Buffer): boolean {
  return res.h2 ? res.write(chunk) : res.write(chunk);
}
export type ClientRequest = IncomingMessage | Http2ServerRequest | RawRequest;

/**
 * Invites a client that asked `Expect: 100-continue` to send its body, once the proxy is about to
 * read it: not while the request waits for a free endpoint, and never before a refusal (a 413 for
 * a declared length over the limit, a 503), so that a body about to be refused is not sent at all.
 */
export function sendContinue(res: ClientResponse): void {
  if (!res.continuePending) return;
  res.continuePending = false;
  if (!res.headersSent) res.writeContinue();
}
