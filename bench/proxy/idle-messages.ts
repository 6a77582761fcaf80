/** What the idle-connections client and the benchmark say to each other over IPC. */

export type IdleCommand = { readonly type: 'close' };

export type IdleReply =
  | { readonly type: 'open'; readonly open: number; readonly failed: number; readonly firstError: string | null }
  | { readonly type: 'closed'; readonly dropped: number };
