/**
 * How the resolver hands a channel's DataPlane to the policy: a resolver attribute, which grpc-js
 * merges into the options the policy gets (resolving-load-balancer.ts). Keys with grpc-js's
 * `grpc.internal.no_subchannel` prefix are left out of the options subchannels are made and
 * pooled with, so that the plane does not keep subchannels of different channels apart.
 */
import { experimental } from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import { DataPlane } from '../../dataplane/data-plane.js';

export const PLANE_ATTRIBUTE = `${experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX}.shardgate.data_plane`;

/** The plane a shardgate: target resolved to, or null for any other target. */
export function planeOf(options: ChannelOptions): DataPlane | null {
  const plane: unknown = options[PLANE_ATTRIBUTE];
  return plane instanceof DataPlane ? plane : null;
}
