/**
 * The proxy's request and response classes, one pair per client protocol, so that the request
 * path can find a request's exchange and state from its response without a side table: Node's
 * HTTP/1.1 server constructs `ProxyResponse` (its `ServerResponse` option) for its own
 * IncomingMessage; the HTTP/2 front makes an `H2StreamRequest` and an `H2StreamResponse` per
 * stream (h2-stream-request.ts, h2-stream-response.ts). `ClientResponse` is their union,
 * discriminated by `h2`; the helpers here are where the data plane treats them alike.
 */
import type { IncomingMessage } from 'node:http';
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Exchange } from './exchange.js';
import type { ErrorReply } from './error-reply.js';
import type { H2StreamRequest } from './h2-stream-request.js';
import type { H2StreamResponse } from './h2-stream-response.js';
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

/** A response on Node's HTTP/1.1 server, the raw HTTP/1.1 path (raw-front.ts), or an HTTP/2 stream of the proxy's own. */
export type ClientResponse = ProxyResponse | H2StreamResponse | RawResponse;
export type ClientRequest = IncomingMessage | H2StreamRequest | RawRequest;

/** Ends the response (one call for every kind: their end() signatures differ). */
export function endResponse(res: ClientResponse): void {
  if (res.h2) res.end();
  else res.end();
}

/** The client is gone: writes go nowhere. */
export function responseGone(res: ClientResponse): boolean {
  return res.h2 ? res.stream.destroyed : res.destroyed;
}

/** Writes the status and a flat [name, value, ...] field list. */
export function writeHeadTo(res: ClientResponse, status: number, headers: readonly (string | string[])[]): void {
  if (res.h2) res.writeHead(status, headers);
  else res.writeHead(status, headers as (string | string[])[]);
}

/** Writes a body chunk; false asks the writer to wait for 'drain'. */
export function writeTo(res: ClientResponse, chunk: Buffer): boolean {
  return res.h2 ? res.write(chunk) : res.write(chunk);
}

/**
 * The request's body as the stream its readers take (undici, the h2c upstream, a body limit, the
 * JSON key reader): the IncomingMessage itself, or the view of the HTTP/2 stream's readable side.
 */
export function requestBody(res: ClientResponse): Readable {
  return res.h2 ? res.req.body : res.req;
}

/** The request's body stream if it has one already; an HTTP/2 body nobody read has none. */
export function openedRequestBody(res: ClientResponse): Readable | null {
  return res.h2 ? res.req.openedBody : res.req;
}

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
