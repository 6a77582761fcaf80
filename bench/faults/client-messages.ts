/** What the benchmark and its client processes say to each other over IPC; every reply names its command's id. */
import type { LoadTally, Outcome } from './tally.js';

export interface LoadOrder {
  readonly port: number;
  /** Requests kept in flight, one per keep-alive connection. */
  readonly concurrency: number;
  /** No request starts after this; those in flight finish. */
  readonly durationMs: number;
  /** Every request id is `<prefix>-<n>`; whether n is a GET or a POST, see isGetRequest. */
  readonly idPrefix: string;
  /** A request without its whole answer by then fails. */
  readonly timeoutMs: number;
}

/** Connections opened and left hanging: a request head never finished, or a body that stops. */
export type HoldKind = 'slowloris' | 'stalled-body';

export interface HoldOrder {
  readonly port: number;
  readonly kind: HoldKind;
  readonly count: number;
}

export interface HeldStatus {
  /** Connections that were opened and sent their first bytes. */
  readonly opened: number;
  /** Connections that could not be opened. */
  readonly failed: number;
  /** Of the opened, closed by the proxy so far. */
  readonly closedByPeer: number;
  /** Milliseconds from the first opening to the last close by the proxy; null before any. */
  readonly lastCloseMs: number | null;
  /** What the proxy answered before closing (`HTTP/1.1 408`), by first line; `none` for a close without an answer. */
  readonly answers: Readonly<Record<string, number>>;
}

export type TransferOrder =
  /** A POST of `bytes`, sent as fast as the proxy takes it. */
  | { readonly kind: 'upload'; readonly port: number; readonly bytes: number; readonly requestId: string; readonly timeoutMs: number }
  /** A GET asking the pod for `bytes`, after `delayMs` (0 for none), read at most `bytesPerS`. */
  | {
      readonly kind: 'download';
      readonly port: number;
      readonly bytes: number;
      readonly bytesPerS: number;
      readonly delayMs: number;
      readonly requestId: string;
      readonly timeoutMs: number;
    };

export type ClientCommand =
  | { readonly type: 'load'; readonly id: number; readonly order: LoadOrder }
  /** Ends the load `loadId` early: no new request starts. */
  | { readonly type: 'stop'; readonly id: number; readonly loadId: number }
  | { readonly type: 'hold'; readonly id: number; readonly order: HoldOrder }
  | { readonly type: 'held'; readonly id: number }
  /** Closes every held connection. */
  | { readonly type: 'release'; readonly id: number }
  | { readonly type: 'transfer'; readonly id: number; readonly order: TransferOrder };

export type ClientReply =
  | { readonly type: 'loaded'; readonly id: number; readonly tally: LoadTally }
  | { readonly type: 'held'; readonly id: number; readonly status: HeldStatus }
  | { readonly type: 'transferred'; readonly id: number; readonly outcome: Outcome; readonly bytes: number; readonly ms: number }
  | { readonly type: 'ok'; readonly id: number };
