/** What the pods process and the benchmark say to each other over IPC. */

export interface PodStats {
  readonly name: string;
  readonly requests: number;
  readonly inFlight: number;
  /** Most requests in flight at once since the last reset. */
  readonly peakInFlight: number;
}

export type PodCommand =
  | { readonly type: 'delay'; readonly ms: number }
  | { readonly type: 'reset' }
  | { readonly type: 'stats' };

export type PodReply =
  | { readonly type: 'ready'; readonly pods: readonly { readonly name: string; readonly port: number }[] }
  | { readonly type: 'ok' }
  | { readonly type: 'stats'; readonly pods: readonly PodStats[] };
