/**
 * One tunnel's life, whatever the client speaks: the pod's handshake (websocket-handshake.ts),
 * then the open tunnel (websocket-splice.ts), a relayed refusal, or an error reply, and exactly
 * one `onEnd`. What differs between HTTP/1.1 and HTTP/2 clients, how each answer is written, is
 * a `TunnelClient` (websocket.ts, websocket-h2.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Outcome } from '../balancer/balancer.js';
import type { ErrorReply } from './error-reply.js';
import { FAILURES } from './upstream-failure.js';
import type { UpstreamFailure } from './upstream-failure.js';
import type { TunnelCallbacks, TunnelOptions, TunnelTarget } from './websocket.js';
import { startHandshake } from './websocket-handshake.js';
import { splice } from './websocket-splice.js';

/** How answers reach one kind of client. */
export interface TunnelClient {
  /** The client's socket or stream. */
  readonly stream: Duplex;
  /** What the client hears for an open tunnel: 101 (HTTP/1.1) or 200 (HTTP/2); for onEnd. */
  readonly openStatus: number;
  /** Bytes the client sent past its handshake, for the pod. */
  readonly head: Buffer;
  /** For the log. */
  readonly protocol: string;
  /** Whether the pod's 101 opens the tunnel (the HTTP/2 side checks the accept value of its key). */
  acceptable(res: IncomingMessage): boolean;
  /** Answers that the tunnel is open, with the pod's fields. */
  open(res: IncomingMessage): void;
  /** Answers with the head of the pod's refusal (its status and fields); the body is piped after. */
  refuse(res: IncomingMessage): void;
  /** Sends one of the proxy's replies and ends the client's side; null: abort instead. */
  reply(reply: ErrorReply | null): void;
  /** Ends the client's side after an error: TCP RST, or RST_STREAM(CANCEL). */
  abort(): void;
  /** The refusal's body has been sent. */
  refused(): void;
}

/** Runs the tunnel to `target`; `fields` is the pod's whole request head (podRequestFields). */
export function runTunnel(client: TunnelClient, target: TunnelTarget, path: string, fields: string[], options: TunnelOptions, callbacks: TunnelCallbacks): void {
  const stream = client.stream;
  const log = options.log;
  let ended = false;
  const end = (outcome: Outcome, status: number): void => {
    if (ended) return;
    ended = true;
    callbacks.onEnd(outcome, status);
  };
  // An error or a close: either way the client's side is destroyed already.
  const onClientGone = (): void => {
    handshake.abort();
    end('cancelled', 0);
  };
  const detach = (): void => {
    stream.off('error', onClientGone);
    stream.off('close', onClientGone);
  };
  stream.on('error', onClientGone);
  stream.on('close', onClientGone);
  const gone = (): boolean => stream.destroyed || stream.writableEnded;

  const fail = (failure: UpstreamFailure, err: Error): void => {
    log.debug({ endpoint: target.name, outcome: failure.outcome, code: (err as { code?: unknown }).code, err: err.message }, 'websocket handshake with endpoint failed');
    if (gone()) {
      end('cancelled', 0);
      return;
    }
    // Nothing has reached the client and the pod never saw the request: another pod may serve it.
    if ((failure.outcome === 'connect-failed' || failure.outcome === 'timeout') && callbacks.retry?.(failure.outcome) === true) {
      end(failure.outcome, 0);
      return;
    }
    client.reply(failure.reply);
    end(failure.outcome, failure.reply?.status ?? 0);
  };

  const handshake = startHandshake(target, path, fields, options, {
    upgraded(res, pod, podHead) {
      detach();
      if (!client.acceptable(res)) {
        pod.destroy();
        fail(FAILURES.badResponse, new Error(`the endpoint's 101 does not complete the handshake (upgrade ${res.headers.upgrade}, accept ${res.headers['sec-websocket-accept']})`));
        return;
      }
      if (gone()) {
        pod.destroy();
        end('cancelled', 0);
        return;
      }
      client.open(res);
      callbacks.onOpen?.();
      log.debug({ endpoint: target.name, protocol: client.protocol }, 'websocket tunnel open');
      splice(client, pod, client.head, podHead, options.idleMs, (outcome, why) => {
        log.debug({ endpoint: target.name, protocol: client.protocol, outcome, end: why }, 'websocket tunnel closed');
        end(outcome, client.openStatus);
      });
    },
    refused(res) {
      detach();
      relayRefusal(client, res, options.handshakeMs, end);
    },
    failed(failure, err) {
      detach();
      fail(failure, err);
    },
  });
}

/** The pod answered other than 101: its status, fields and body go to the client. */
function relayRefusal(client: TunnelClient, res: IncomingMessage, bodyIdleMs: number, end: (outcome: Outcome, status: number) => void): void {
  const stream = client.stream;
  const status = res.statusCode ?? 502;
  // A refusal is a short page: a pod that stalls in the middle of one is cut.
  if (bodyIdleMs > 0) res.setTimeout(bodyIdleMs, () => res.destroy());
  res.on('error', () => client.abort());
  res.on('close', () => {
    if (res.complete) return;
    client.abort();
    end('reset', status);
  });
  stream.on('error', () => res.destroy());
  stream.on('close', () => {
    res.destroy();
    end(stream.writableFinished ? (status >= 500 ? 'http-5xx' : 'ok') : 'cancelled', status);
  });
  stream.on('finish', () => client.refused());
  if (stream.destroyed) return;
  client.refuse(res);
  res.pipe(stream);
}
