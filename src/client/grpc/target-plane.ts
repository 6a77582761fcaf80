/**
 * The data plane of one channel's target: its endpoint source opened as `shardgate serve` opens
 * one (a file read first, a watch or a DNS resolution started), a DataPlane built from the
 * channel's config (the balancer, the key, outlier detection), and the source followed into it by
 * followSets, which decides how a refused set is logged. A connection that cannot be made asks a
 * DNS source to resolve again, at most once per interval, as the proxy does.
 *
 * Whoever opens it hears of each applied set and, until the first, of each discovery problem (the
 * resolver reports them to grpc-js, so calls fail with the reason instead of waiting).
 */
import type { Logger } from 'pino';
import type { EndpointSet } from '../../balancer/endpoint.js';
import type { ShardgateConfig } from '../../config/config.js';
import type { DataPlane } from '../../dataplane/data-plane.js';
import { createDataPlane } from '../../dataplane/create-data-plane.js';
import { followSets } from '../../dataplane/follow-sets.js';
import type { SetFollower } from '../../dataplane/follow-sets.js';
import { openEndpointSource, refreshOnConnectFailure } from '../../discovery/configured-source.js';
import type { DiscoveryError, EndpointSource } from '../../discovery/endpoint-source.js';
import type { RefreshLimiter } from '../../discovery/refresh-limiter.js';

export interface TargetPlaneListener {
  /** A set was applied to the plane (synchronously, from inside `apply`). */
  onSet(set: EndpointSet): void;
  /** Discovery could not produce a set, or the first set was refused. */
  onError(message: string): void;
}

export class TargetPlane {
  readonly plane: DataPlane;
  readonly #follower: SetFollower;
  readonly #reresolve: RefreshLimiter | null;
  readonly #stopSets: () => void;
  #closed = false;

  private constructor(plane: DataPlane, follower: SetFollower, reresolve: RefreshLimiter | null, stopSets: () => void) {
    this.plane = plane;
    this.#follower = follower;
    this.#reresolve = reresolve;
    this.#stopSets = stopSets;
  }

  /**
   * Opens the source and starts following it.
   * @throws ConfigError when the source cannot be opened (an endpoints file that cannot be read)
   */
  static async open(config: ShardgateConfig, logger: Logger, listener: TargetPlaneListener): Promise<TargetPlane> {
    const configured = await openEndpointSource(config.endpoints);
    const reresolve = refreshOnConnectFailure(configured, logger);
    const plane = createDataPlane(config, { logger, onConnectFailure: reresolve === null ? null : (e) => reresolve.request(e.name) });
    const stopSets = plane.onSet((set) => listener.onSet(set));
    const follower = followSets(reportingErrors(configured.source, listener), (set) => plane.apply(set), { logger });
    follower.first.catch((e: unknown) => listener.onError(e instanceof Error ? e.message : String(e)));
    return new TargetPlane(plane, follower, reresolve, stopSets);
  }

  /** Asks a DNS source to resolve again (grpc-js asks after losing a connection); rate-limited. */
  refresh(reason: string): void {
    this.#reresolve?.request(reason);
  }

  /** Stops following the source and closes the plane. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#follower.unsubscribe();
    this.#stopSets();
    this.#reresolve?.close();
    // close() only stops timers and health checks, and never rejects.
    void this.plane.close();
  }
}

/** The source, with its problems told to the listener as well as to followSets (which logs them). */
function reportingErrors(source: EndpointSource, listener: TargetPlaneListener): EndpointSource {
  return {
    subscribe: (onSet, onError) =>
      source.subscribe(onSet, (error: DiscoveryError) => {
        onError(error);
        listener.onError(error.message);
      }),
    status: () => source.status(),
  };
}
