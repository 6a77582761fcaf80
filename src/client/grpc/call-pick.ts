/**
 * The pick result of one gRPC call that got an endpoint: the subchannel to send it on, and the
 * two hooks grpc-js calls on it (load-balancing-call.ts): `onCallStarted` once the call's stream
 * is made, `onCallEnded` with its status. Both go to the ledger that owns the call's pick, which
 * ends it exactly once.
 *
 * grpc-js calls `onCallStarted` as a method of the result (so the prototype's serves), but
 * `onCallEnded` as a method of its own call object, so only a closure knows which call ended: each
 * result has one, made with it. The ledger reuses the result of a call that ended for a later call
 * (`reuse`), so that picks allocate nothing once the channel is warm.
 */
import { experimental } from '@grpc/grpc-js';
import type { Pick } from '../../balancer/balancer.js';
import type { CallLedger } from './call-ledger.js';

/** Where a call stands; the ledger moves it on. */
export enum CallState {
  /** Picked: counted in flight, not started yet. */
  Picked,
  /** Its stream is made; its end ends the pick. */
  Started,
  /** Its pick was ended without it having started (it never will, or started late). */
  Swept,
  /** Started after its endpoint left the set: nothing is counted for it. */
  Uncounted,
  Ended,
}

const COMPLETE = experimental.PickResultType.COMPLETE;

export class CallPick implements experimental.PickResult {
  readonly pickResultType = COMPLETE;
  subchannel: experimental.SubchannelInterface;
  readonly status = null;
  readonly onCallEnded: (code: number) => void;
  pick: Pick;
  readonly #ledger: CallLedger;
  state = CallState.Picked;
  /** The plane clock's time at the pick, or at a late start. */
  startedMs: number;
  /** Neighbours in the ledger's list of calls not started yet. */
  previousUnstarted: CallPick | null = null;
  nextUnstarted: CallPick | null = null;

  constructor(ledger: CallLedger, subchannel: experimental.SubchannelInterface, pick: Pick, startedMs: number) {
    this.#ledger = ledger;
    this.subchannel = subchannel;
    this.pick = pick;
    this.startedMs = startedMs;
    this.onCallEnded = (code: number): void => ledger.ended(this, code);
  }

  /** The same result for another call; only for one whose call ended (grpc-js is done with it). */
  reuse(subchannel: experimental.SubchannelInterface, pick: Pick, startedMs: number): this {
    this.subchannel = subchannel;
    this.pick = pick;
    this.startedMs = startedMs;
    this.state = CallState.Picked;
    return this;
  }

  onCallStarted(): void {
    this.#ledger.started(this);
  }
}
