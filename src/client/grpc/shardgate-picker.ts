/**
 * The shardgate policy's picker: each call is picked by the plane's balancer, with the key read
 * from the call's metadata and hashed by the plane (`plane.key`), so the call goes to the pod the
 * proxy and the directory name for that key; a call without a key goes to the keyless balancer.
 * In flight counts, bounded loads, least-request and outlier ejections are the plane's, shared
 * with everything else on it.
 *
 * Which endpoints a pick may land on: a keyless call only on a READY one (as round_robin picks);
 * a keyed call on its owner unless the owner has failed to connect since it was last READY, in
 * which case the balancer walks on to the key's next owner, exactly as the proxy's retry after a
 * connect failure does. An owner whose connection is still being made (the first one, or a new one
 * after a clean close) holds the call back (QUEUE) instead: grpc-js picks it again with the next
 * state the policy publishes. A pick that holds a call back ends its balancer pick at once.
 *
 * No endpoint (`NoPick`): saturated calls wait for room (the policy republishes its picker when
 * the plane reports capacity); when every endpoint is unavailable, calls wait while some
 * connection is under way and fail with UNAVAILABLE otherwise; the other reasons fail with
 * UNAVAILABLE naming the reason. Calls with `waitForReady` wait through UNAVAILABLE, as grpc-js
 * makes them.
 *
 * Synchronous, never throws; reads the policy's live endpoints, which change together with the
 * balancer's tables (both in the plane's `apply`). Allocates only the call's pick result
 * (call-ledger.ts) and the plane's routing key of a keyed call.
 */
import { connectivityState, experimental, Metadata, status } from '@grpc/grpc-js';
import type { MetadataValue } from '@grpc/grpc-js';
import type { Exclusion, NoPickReason } from '../../balancer/balancer.js';
import type { RoutingKey } from '../../balancer/hash.js';
import type { DataPlane } from '../../dataplane/data-plane.js';
import type { CallLedger } from './call-ledger.js';
import type { EndpointSubchannel } from './endpoint-subchannel.js';

/** What the picker reads of its policy. */
export interface PolicyEndpoints {
  /** The channel's endpoints, by index in the plane's current set. */
  readonly endpoints: readonly EndpointSubchannel[];
  /** Endpoints whose connection is under way and that have not failed since they were last READY. */
  readonly connecting: number;
}

const READY = connectivityState.READY;

const QUEUE: experimental.PickResult = Object.freeze({ pickResultType: experimental.PickResultType.QUEUE, subchannel: null, status: null, onCallStarted: null, onCallEnded: null });

const NO_ENDPOINT: Readonly<Record<NoPickReason, string>> = {
  empty: 'the target has no endpoints',
  'all-unavailable': 'every endpoint is unavailable: failing to connect, ejected by outlier detection, or draining',
  saturated: 'every endpoint is at its in-flight limit (maxInflight)',
  'owner-missing': "the key's owner is not in the endpoint set and the balancer's onMissing is fail",
  'no-range': 'no key range or lookup entry of the balancer holds the key',
  'no-key': 'the balancer routes by key, the call has none, and no keyless fallback is configured',
};

const UNAVAILABLE = Object.fromEntries(
  Object.entries(NO_ENDPOINT).map(([reason, why]) => [
    reason,
    Object.freeze({
      pickResultType: experimental.PickResultType.TRANSIENT_FAILURE,
      subchannel: null,
      status: Object.freeze({ code: status.UNAVAILABLE, details: `shardgate: no endpoint for the call (${reason}): ${why}`, metadata: new Metadata() }),
      onCallStarted: null,
      onCallEnded: null,
    }),
  ]),
) as Readonly<Record<NoPickReason, experimental.PickResult>>;

export class ShardgatePicker implements experimental.Picker {
  readonly #plane: DataPlane;
  readonly #policy: PolicyEndpoints;
  readonly #calls: CallLedger;
  /** The metadata key of the routing key (lower case, as grpc-js keeps keys); null: keyless. */
  readonly #keyName: string | null;
  readonly #notReady: Exclusion;
  readonly #failing: Exclusion;

  constructor(plane: DataPlane, policy: PolicyEndpoints, calls: CallLedger) {
    this.#plane = plane;
    this.#policy = policy;
    this.#calls = calls;
    this.#keyName = plane.keySource?.header ?? null;
    this.#notReady = { has: (e) => policy.endpoints[e.index]?.state !== READY };
    this.#failing = { has: (e) => policy.endpoints[e.index]?.failing ?? true };
  }

  pick(args: experimental.PickArgs): experimental.PickResult {
    const plane = this.#plane;
    const name = this.#keyName;
    const key = name === null ? null : keyOf(plane, args.metadata.get(name));
    const picked = plane.balancer.pick(key, key === null ? this.#notReady : this.#failing);
    if (picked.kind === 'none') return this.#none(picked.reason);
    const endpoint = this.#policy.endpoints[picked.endpoint.index];
    // Same index, same name: the policy's endpoints follow the plane's set in the same apply.
    if (endpoint !== undefined && endpoint.state === READY && endpoint.name === picked.endpoint.name) return this.#calls.start(endpoint.subchannel, picked);
    picked.done(plane.clock.nowMs(), 'cancelled');
    endpoint?.connect();
    return QUEUE;
  }

  #none(reason: NoPickReason): experimental.PickResult {
    if (reason === 'saturated') return QUEUE;
    if (reason === 'all-unavailable' && this.#policy.connecting > 0) return QUEUE;
    return UNAVAILABLE[reason];
  }
}

/** The routing key of a call: the first value of its key's metadata, when it is non-empty text. */
function keyOf(plane: DataPlane, values: MetadataValue[]): RoutingKey | null {
  if (values.length === 0) return null;
  const value = values[0];
  return typeof value === 'string' && value.length > 0 ? plane.key(value) : null;
}
