/**
 * `shardgate/owner`: the pod-side helper. A pod that holds state for keys (a cache, an in-memory
 * shard, open sessions) embeds the same core as the proxy, over the same discovery, and asks it
 * whether a key is its own, and, on every membership change, which of the keys it holds it has
 * lost and to whom, so that it can hand them off; with a planned hand-off delay (handoffDelayMs)
 * it hears of a change before the routers switch, as Shard Manager's prepare_add and
 * prepare_drop do.
 *
 *   import { watchOwnership } from 'shardgate/owner';
 *   const ownership = await watchOwnership({ self: process.env.POD_NAME, config: { discovery:
 *     'k8s:default/sharded-svc', balancer: { algorithm: 'ring-hash' }, key: 'header:x-account' } });
 *   ownership.owns('acct-42');
 *   ownership.onChange((c) => { for (const { key, to } of c.lost(myKeys())) handOff(key, to); });
 *
 * The config is a shardgate config document (what `serve --config` reads), or the path of one:
 * the same discovery, balancer, key and key transform as the proxies give the same owners.
 * Answers are homes, as the directory's: a proxy may spill a key past a full owner (bounded
 * loads), which no pod can see in advance.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { ShardgateConfig } from '../config/config.js';
import { loadConfig, parseConfig } from '../config/config.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import { followSets } from '../dataplane/follow-sets.js';
import type { SetFollower } from '../dataplane/follow-sets.js';
import { keyedConfig } from '../directory/assignment.js';
import type { Assignment } from '../directory/assignment.js';
import { Generations } from '../directory/generations.js';
import type { GenerationAnnouncement, GenerationChange } from '../directory/generations.js';
import { createLookupPlane } from '../directory/lookup-plane.js';
import type { Member } from '../directory/membership.js';
import { openEndpointSource } from '../discovery/configured-source.js';
import { ConfigError } from '../errors.js';
import { OwnershipView } from './ownership-view.js';

export type { Member } from '../directory/membership.js';
export { OwnershipView } from './ownership-view.js';

export interface OwnershipOptions {
  /** This pod's endpoint name: its pod name (the downward API's metadata.name, as POD_NAME). */
  readonly self: string;
  /** A shardgate config document (discovery or endpoints, balancer, key, keyTransform, handoffDelayMs), or the path of a YAML one. */
  readonly config: Readonly<Record<string, unknown>> | string;
  /** Discovery's log lines; silent when absent. */
  readonly logger?: Logger;
}

/** A key this pod held that another pod's home is now. */
export interface Handoff {
  readonly key: string;
  /** The new home, or null when the key has none (its owner is missing and the policy is to fail). */
  readonly to: Member | null;
}

export interface OwnershipChange {
  readonly previous: OwnershipView;
  /** After onChange, the generation routed by now; after onPrepare, the one that is coming. */
  readonly current: OwnershipView;
  /** It was announced ahead (a planned hand-off). */
  readonly planned: boolean;
  /** onPrepare: the wall-clock time (ms since the epoch) the routers in this process switch; null after onChange. */
  readonly effectiveAtMs: number | null;
  /** Of `keys`, those this pod owned in `previous` and not in `current`, with their new homes. */
  lost(keys: Iterable<string>): Handoff[];
  /** Of `keys`, those this pod owns in `current` and did not in `previous`. */
  gained(keys: Iterable<string>): string[];
}

export class Ownership {
  readonly self: string;
  readonly #plane: DataPlane;
  readonly #generations: Generations;
  readonly #stop: (() => void)[];
  readonly #views = new WeakMap<Assignment, OwnershipView>();

  /** Use watchOwnership, which starts discovery and waits for the first set. */
  constructor(self: string, plane: DataPlane, generations: Generations, stop: (() => void)[]) {
    this.self = self;
    this.#plane = plane;
    this.#generations = generations;
    this.#stop = stop;
  }

  /** The generation routed by now. */
  get current(): OwnershipView {
    return this.#view(this.#generations.current!);
  }

  /** True when `key` (as a request carries it) is this pod's. */
  owns(key: string): boolean {
    return this.current.owns(key);
  }

  /** The member whose home `key` is, or null when it has none. */
  owner(key: string): Member | null {
    return this.current.owner(key);
  }

  /**
   * Hears every membership change once the routers in this process use it (with no hand-off
   * delay, when discovery delivers it). Called synchronously; returns the function that stops it.
   */
  onChange(listener: (change: OwnershipChange) => void): () => void {
    return this.#generations.onChange(({ previous, next, planned }: GenerationChange) => {
      if (previous !== null) listener(this.#change(previous, next, planned, null));
    });
  }

  /** Hears every planned change when it is announced, handoffDelayMs before it applies. */
  onPrepare(listener: (change: OwnershipChange) => void): () => void {
    return this.#generations.onAnnounce(({ current, next, change }: GenerationAnnouncement) => listener(this.#change(current, next, true, change.effectiveAtMs)));
  }

  /** Stops following discovery. Idempotent. */
  async close(): Promise<void> {
    for (const stop of this.#stop.splice(0)) stop();
    await this.#plane.close();
  }

  #view(a: Assignment): OwnershipView {
    let view = this.#views.get(a);
    if (view === undefined) {
      view = new OwnershipView(a, this.#plane, this.self);
      this.#views.set(a, view);
    }
    return view;
  }

  #change(previous: Assignment, current: Assignment, planned: boolean, effectiveAtMs: number | null): OwnershipChange {
    const before = this.#view(previous);
    const after = this.#view(current);
    const self = this.self;
    return {
      previous: before,
      current: after,
      planned,
      effectiveAtMs,
      lost: (keys) => {
        const out: Handoff[] = [];
        for (const key of keys) {
          if (!before.owns(key)) continue;
          const to = after.owner(key);
          if (to?.endpoint !== self) out.push({ key, to });
        }
        return out;
      },
      gained: (keys) => {
        const out: string[] = [];
        for (const key of keys) if (after.owns(key) && !before.owns(key)) out.push(key);
        return out;
      },
    };
  }
}

/**
 * Starts following the config's endpoints and resolves once the first set is known.
 * @throws ConfigError for a config that cannot be used (or a keyless balancer: no key has an owner)
 */
export async function watchOwnership(options: OwnershipOptions): Promise<Ownership> {
  if (typeof options.self !== 'string' || options.self.length === 0) {
    throw new ConfigError('SG_ERR_CONFIG', 'self', `is ${JSON.stringify(options.self)}: give this pod's endpoint name, its pod name (POD_NAME from the downward API)`);
  }
  const config: ShardgateConfig = typeof options.config === 'string' ? await loadConfig({ configFile: options.config }) : parseConfig(options.config, { file: 'watchOwnership config' });
  const keyed = keyedConfig(config.balancer);
  if (keyed === null) {
    throw new ConfigError('SG_ERR_BALANCER', 'balancer.algorithm', `is ${config.balancer.algorithm}, which routes no key to an owner: use the keyed balancer the proxies use (ring-hash, maglev, rendezvous, jump, ordinal, ranges or lookup)`);
  }
  const logger = options.logger ?? pino({ level: 'silent' });
  const configured = await openEndpointSource(config.endpoints, { handoffDelayMs: config.handoffDelayMs });
  const plane = createLookupPlane(config, logger);
  const generations = new Generations(keyed);
  const stop: (() => void)[] = [plane.onSet((set) => generations.applied(set))];
  if (configured.handoff !== null) stop.push(configured.handoff.onPlan((c) => generations.announced(c)));
  const follower: SetFollower = followSets(configured.source, (set) => plane.apply(set), { logger });
  stop.push(() => follower.unsubscribe());
  try {
    await follower.first;
  } catch (e) {
    for (const s of stop) s();
    await plane.close();
    throw e;
  }
  return new Ownership(options.self, plane, generations, stop);
}
