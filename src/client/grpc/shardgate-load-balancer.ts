/**
 * The shardgate load-balancing policy for grpc-js (`experimental.registerLoadBalancerType`),
 * chosen by a channel's service config. It routes with the DataPlane its `shardgate:` target
 * resolved to (handed over as a resolver attribute): the plane's balancer picks every call
 * (shardgate-picker.ts) and its load board counts them, and the policy keeps one subchannel per
 * endpoint of the plane's set.
 *
 * The policy is a transport of the plane (`attach`): it checks each new set (an address a channel
 * cannot dial refuses the set everywhere) and reconciles with it in the same synchronous `apply`
 * that rebuilds the balancer, so a pick's endpoint always has its subchannel. A new name gets a
 * subchannel; a removed name's subchannel is let go, and its calls in flight finish; a name at a
 * new address gets a new one. Every subchannel is kept connected, as round_robin keeps its
 * children: an IDLE one (a closed connection) connects again at once.
 *
 * State, as round_robin reports it: READY when any endpoint is, CONNECTING while one is on its way
 * and none has been READY, TRANSIENT_FAILURE when every endpoint has failed to connect (or there
 * is none). The picker is republished on every change, on each new set, and when the plane has
 * room again for calls held back at their limit; grpc-js then picks its queued calls again. A
 * failed connection is reported to the plane (`observe`, connect-failed): passive health counts
 * it, and a DNS source resolves again.
 *
 * Trace: `GRPC_TRACE=shardgate GRPC_VERBOSITY=DEBUG`, as grpc-js's own policies trace.
 */
import { connectivityState, experimental, logVerbosity } from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import type { EndpointSet } from '../../balancer/endpoint.js';
import type { DataPlane, Transport } from '../../dataplane/data-plane.js';
import { CallLedger } from './call-ledger.js';
import { EndpointSubchannel } from './endpoint-subchannel.js';
import { planeOf } from './plane-attribute.js';
import { POLICY_NAME, ShardgatePolicyConfig } from './shardgate-policy-config.js';
import type { PolicyEndpoints } from './shardgate-picker.js';
import { ShardgatePicker } from './shardgate-picker.js';
import { subchannelAddressOf } from './subchannel-address.js';

const TRACER = 'shardgate';
const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE } = connectivityState;

const NOT_A_SHARDGATE_TARGET = `the ${POLICY_NAME} policy routes with the endpoints of a shardgate: target (shardgate:k8s/NAMESPACE/SERVICE, shardgate:dns/HOST:PORT, shardgate:srv/NAME, shardgate:static/NAME=HOST:PORT,..., shardgate:file/PATH); use one, or choose another policy`;

function trace(text: string): void {
  experimental.trace(logVerbosity.DEBUG, TRACER, text);
}

export class ShardgateLoadBalancer implements experimental.LoadBalancer, PolicyEndpoints {
  endpoints: readonly EndpointSubchannel[] = [];
  connecting = 0;
  readonly #helper: experimental.ChannelControlHelper;
  #byName = new Map<string, EndpointSubchannel>();
  #options: ChannelOptions = {};
  #plane: DataPlane | null = null;
  #picker: ShardgatePicker | null = null;
  #stopCapacity: (() => void) | null = null;
  #state: connectivityState = IDLE;
  #lastError: string | null = null;
  #publishPending = false;
  #destroyed = false;
  readonly #transport: Transport = {
    check: (set) => this.#check(set),
    reconcile: (set, checked) => this.#reconcile(set, checked as experimental.SubchannelAddress[]),
  };
  readonly #onState = (endpoint: EndpointSubchannel, previous: connectivityState, next: connectivityState, error: string | undefined): void => this.#endpointState(endpoint, previous, next, error);
  readonly #publishSoon = (): void => {
    this.#publishPending = false;
    if (!this.#destroyed) this.#publish();
  };

  constructor(helper: experimental.ChannelControlHelper) {
    this.#helper = helper;
  }

  updateAddressList(endpointList: experimental.StatusOr<experimental.Endpoint[]>, lbConfig: experimental.TypedLoadBalancingConfig, options: ChannelOptions): boolean {
    if (!(lbConfig instanceof ShardgatePolicyConfig)) return false;
    this.#options = options;
    const plane = planeOf(options);
    if (plane !== null) {
      if (plane !== this.#plane) this.#use(plane);
      return true;
    }
    // An error from the resolver while a plane serves: the plane's last good set keeps serving.
    if (this.#plane === null) this.#fail(endpointList.ok ? NOT_A_SHARDGATE_TARGET : endpointList.error.details);
    return true;
  }

  exitIdle(): void {
    for (const e of this.endpoints) e.connect();
  }

  resetBackoff(): void {
    // Subchannels keep their own backoff; grpc-js's own round_robin has none to reset either.
  }

  destroy(): void {
    this.#destroyed = true;
    this.#leave();
    for (const e of this.#byName.values()) e.close();
    this.#byName = new Map();
    this.endpoints = [];
    this.connecting = 0;
  }

  getTypeName(): string {
    return POLICY_NAME;
  }

  /** Routes with `plane` from now on: its current set at once, each later one as it is applied. */
  #use(plane: DataPlane): void {
    this.#leave();
    this.#plane = plane;
    this.#picker = new ShardgatePicker(plane, this, new CallLedger(plane));
    try {
      plane.attach(this.#transport);
    } catch (e) {
      // The current set holds an address a channel cannot dial (the plane keeps it for others).
      this.#plane = null;
      this.#picker = null;
      this.#fail(e instanceof Error ? e.message : String(e));
      return;
    }
    this.#stopCapacity = plane.onCapacity(() => this.#publishLater());
    this.#publish();
  }

  #leave(): void {
    this.#plane?.detach(this.#transport);
    this.#stopCapacity?.();
    this.#stopCapacity = null;
    this.#plane = null;
    this.#picker = null;
  }

  /** @throws ConfigError naming the endpoint whose address a channel cannot dial */
  #check(set: EndpointSet): experimental.SubchannelAddress[] {
    return set.endpoints.map((e) => subchannelAddressOf(e.address, `endpoints[${e.index}].address`));
  }

  /** Called from inside the plane's apply: subchannels now, the new state on a later tick. */
  #reconcile(set: EndpointSet, addresses: readonly experimental.SubchannelAddress[]): void {
    const next = new Map<string, EndpointSubchannel>();
    const list: EndpointSubchannel[] = [];
    for (const e of set.endpoints) {
      const address = addresses[e.index]!;
      let endpoint = this.#byName.get(e.name);
      if (endpoint !== undefined && endpoint.address !== experimental.subchannelAddressToString(address)) {
        trace(`${e.name}: ${endpoint.address} -> ${experimental.subchannelAddressToString(address)}`);
        endpoint.close();
        endpoint = undefined;
      }
      endpoint ??= new EndpointSubchannel(e.name, address, this.#helper, this.#options, this.#onState);
      endpoint.connect();
      next.set(e.name, endpoint);
      list.push(endpoint);
    }
    for (const [name, endpoint] of this.#byName) {
      if (next.has(name)) continue;
      trace(`${name}: removed, its calls finish`);
      endpoint.close();
    }
    this.#byName = next;
    this.endpoints = list;
    this.#count();
    this.#publishLater();
  }

  #endpointState(endpoint: EndpointSubchannel, previous: connectivityState, next: connectivityState, error: string | undefined): void {
    if (this.#destroyed || this.#byName.get(endpoint.name) !== endpoint) return;
    trace(`${endpoint.name} ${endpoint.address}: ${connectivityState[previous]} -> ${connectivityState[next]}`);
    endpoint.state = next;
    if (next === READY) {
      endpoint.failing = false;
    } else if (next === TRANSIENT_FAILURE) {
      endpoint.failing = true;
      this.#lastError = error ?? null;
      this.#plane?.observe(endpoint.name, 'connect-failed', 0);
    } else if (next === IDLE) {
      endpoint.connect();
    }
    this.#publish();
  }

  #count(): void {
    let connecting = 0;
    for (const e of this.endpoints) if (!e.failing && (e.state === IDLE || e.state === CONNECTING)) connecting++;
    this.connecting = connecting;
  }

  /** Publishes the state and the picker on a later tick, once for any number of asks. */
  #publishLater(): void {
    if (this.#publishPending) return;
    this.#publishPending = true;
    process.nextTick(this.#publishSoon);
  }

  #publish(): void {
    const picker = this.#picker;
    if (picker === null) return;
    this.#count();
    let ready = false;
    for (const e of this.endpoints) if (e.state === READY) ready = true;
    const state = ready ? READY : this.connecting > 0 ? CONNECTING : TRANSIENT_FAILURE;
    const error =
      state !== TRANSIENT_FAILURE ? null : this.endpoints.length === 0 ? `${POLICY_NAME}: the target has no endpoints` : `${POLICY_NAME}: no endpoint could be reached; last error: ${this.#lastError ?? 'none'}`;
    this.#setState(state, picker, error);
  }

  #fail(details: string): void {
    this.#setState(TRANSIENT_FAILURE, new experimental.UnavailablePicker({ details }), details);
  }

  #setState(state: connectivityState, picker: experimental.Picker, error: string | null): void {
    if (state !== this.#state) trace(`${connectivityState[this.#state]} -> ${connectivityState[state]}`);
    this.#state = state;
    this.#helper.updateState(state, picker, error);
  }
}
