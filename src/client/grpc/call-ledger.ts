/**
 * The calls of one channel from pick to end, so that every pick that counted a call in flight is
 * ended exactly once, with the call's outcome, and passive health hears of every call.
 *
 * grpc-js calls a pick's `onCallEnded` only for a call that started on the subchannel. A call can
 * end before it starts (cancelled, or its deadline passed, while call credentials were being
 * made), or be picked again (its subchannel left READY meanwhile); grpc-js tells nothing then. So
 * picks not started by the next turn of the event loop are ended as cancelled: with no call
 * credentials, a call starts within the microtasks after its pick (the credentials come from a
 * resolved promise). A call whose credentials take longer starts after that sweep, and is counted
 * in flight again from its start.
 *
 * Allocation: none per call once the channel is warm. The pick result of a call that started and
 * ended is reused for a later one (grpc-js calls `onCallEnded` once, after `onCallStarted`, and
 * holds the result no longer), up to MAX_REUSED kept; calls not started yet are linked through
 * their results, so a sweep walks only those (normally none); a turn of the event loop with picks
 * schedules one setImmediate. Ended calls are published on the diagnostics channel
 * `shardgate:grpc:call` when someone listens.
 */
import diagnostics from 'node:diagnostics_channel';
import type { experimental } from '@grpc/grpc-js';
import type { Outcome, Pick } from '../../balancer/balancer.js';
import type { DataPlane } from '../../dataplane/data-plane.js';
import { httpStatusOfCall, outcomeOfCall } from './call-outcome.js';
import { CallPick, CallState } from './call-pick.js';

export interface GrpcCallEvent {
  readonly endpoint: string;
  /** The call's gRPC status code. */
  readonly code: number;
  readonly outcome: Outcome;
  /** From the pick (or a late start) to the end, on the plane's clock. */
  readonly durationMs: number;
}

export const grpcCallChannel = diagnostics.channel('shardgate:grpc:call');

/** Pick results kept for reuse: the calls in flight at a busy moment, beyond which the rest go. */
const MAX_REUSED = 1_024;

export class CallLedger {
  readonly #plane: DataPlane;
  /** The most recent of the calls picked and not started, linked through `nextUnstarted`. */
  #unstarted: CallPick | null = null;
  /** Results of ended calls, to reuse. */
  readonly #reusable: CallPick[] = [];
  #sweep: NodeJS.Immediate | null = null;
  readonly #sweepNow = (): void => this.#sweepUnstarted();

  constructor(plane: DataPlane) {
    this.#plane = plane;
  }

  /** The pick result of a call picked onto `subchannel`, its pick counted in flight. */
  start(subchannel: experimental.SubchannelInterface, pick: Pick): CallPick {
    const now = this.#plane.clock.nowMs();
    const call = this.#reusable.pop()?.reuse(subchannel, pick, now) ?? new CallPick(this, subchannel, pick, now);
    const head = this.#unstarted;
    call.nextUnstarted = head;
    if (head !== null) head.previousUnstarted = call;
    this.#unstarted = call;
    if (this.#sweep === null) this.#sweep = setImmediate(this.#sweepNow);
    return call;
  }

  /** grpc-js made the call's stream. */
  started(call: CallPick): void {
    if (call.state === CallState.Picked) {
      this.#unlink(call);
      call.state = CallState.Started;
      return;
    }
    if (call.state !== CallState.Swept) return;
    // Started after the sweep (slow call credentials): in flight again from now, if still in the set.
    const board = this.#plane.board;
    const load = board.load(call.pick.endpoint.name);
    if (load === undefined) {
      call.state = CallState.Uncounted;
      return;
    }
    board.begin(load.endpoint.index);
    call.startedMs = this.#plane.clock.nowMs();
    call.state = CallState.Started;
  }

  /** The call ended with `code`; a second end changes nothing. */
  ended(call: CallPick, code: number): void {
    const state = call.state;
    if (state === CallState.Ended) return;
    if (state === CallState.Picked) this.#unlink(call);
    call.state = CallState.Ended;
    const plane = this.#plane;
    const outcome = outcomeOfCall(code);
    const name = call.pick.endpoint.name;
    if (state === CallState.Started || state === CallState.Picked) call.pick.done(call.startedMs, outcome);
    plane.observe(name, outcome, httpStatusOfCall(code));
    if (grpcCallChannel.hasSubscribers) {
      const event: GrpcCallEvent = { endpoint: name, code, outcome, durationMs: plane.clock.nowMs() - call.startedMs };
      grpcCallChannel.publish(event);
    }
    // A call that never started may still be started by grpc-js (slow credentials): never reused.
    if ((state === CallState.Started || state === CallState.Uncounted) && this.#reusable.length < MAX_REUSED) this.#reusable.push(call);
  }

  #unlink(call: CallPick): void {
    const previous = call.previousUnstarted;
    const next = call.nextUnstarted;
    if (previous === null) this.#unstarted = next;
    else previous.nextUnstarted = next;
    if (next !== null) next.previousUnstarted = previous;
    call.previousUnstarted = null;
    call.nextUnstarted = null;
  }

  #sweepUnstarted(): void {
    this.#sweep = null;
    let call = this.#unstarted;
    this.#unstarted = null;
    while (call !== null) {
      const next = call.nextUnstarted;
      call.previousUnstarted = null;
      call.nextUnstarted = null;
      call.state = CallState.Swept;
      call.pick.done(call.startedMs, 'cancelled');
      call = next;
    }
  }
}
