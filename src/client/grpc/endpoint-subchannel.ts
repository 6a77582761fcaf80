/**
 * One endpoint's connection on a channel: a grpc-js subchannel to its address, held (ref'd) while
 * the endpoint is in the set, with the state the policy picks by. `failing` is pick_first's
 * "reported TRANSIENT_FAILURE since the last READY": keyed calls move to the key's next owner only
 * then, and wait while a first connection, or a reconnection after a clean close, is under way.
 * Closing lets go of the subchannel; grpc-js closes its HTTP/2 session gracefully, so calls in
 * flight on a removed endpoint finish (drained, not cut).
 */
import { connectivityState, experimental } from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';

export type EndpointStateListener = (endpoint: EndpointSubchannel, previous: connectivityState, next: connectivityState, error: string | undefined) => void;

export class EndpointSubchannel {
  readonly name: string;
  /** `host:port`, as grpc-js writes a subchannel address: a new one means a new subchannel. */
  readonly address: string;
  readonly subchannel: experimental.SubchannelInterface;
  state: connectivityState;
  failing: boolean;
  readonly #helper: experimental.ChannelControlHelper;
  readonly #listener: experimental.ConnectivityStateListener;

  constructor(name: string, address: experimental.SubchannelAddress, helper: experimental.ChannelControlHelper, options: ChannelOptions, onState: EndpointStateListener) {
    this.name = name;
    this.#helper = helper;
    const subchannel = helper.createSubchannel(address, options);
    this.subchannel = subchannel;
    this.address = experimental.subchannelAddressToString(address);
    subchannel.ref();
    helper.addChannelzChild(subchannel.getChannelzRef());
    // Subchannels are pooled across channels: this one may be connected, or failing, already.
    this.state = subchannel.getConnectivityState();
    this.failing = this.state === connectivityState.TRANSIENT_FAILURE;
    this.#listener = (_subchannel, previous, next, _keepaliveTime, error) => onState(this, previous, next, error);
    subchannel.addConnectivityStateListener(this.#listener);
  }

  /** Starts a connection if none is open or under way; grpc-js starts it on a later tick. */
  connect(): void {
    if (this.state === connectivityState.IDLE) this.subchannel.startConnecting();
  }

  /** Lets go of the subchannel; calls in flight on it finish. Call once. */
  close(): void {
    this.subchannel.removeConnectivityStateListener(this.#listener);
    this.#helper.removeChannelzChild(this.subchannel.getChannelzRef());
    // Last, as pick_first does, so that no listener hears the subchannel leave.
    this.subchannel.unref();
  }
}
