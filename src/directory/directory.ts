/**
 * The look-aside directory: "which pod owns key K?" answered by the same core that routes, so
 * that its answer is the pod a proxy over the same endpoints sends K to. It sits on a DataPlane
 * (on `shardgate serve`'s admin listener, the proxy's own plane; in `shardgate directory` and
 * beside worker threads, a plane of its own fed the same sets) and reads keys as the plane does
 * (`plane.key`: the key transform, then the one key hash), answering with the plane's balancer,
 * or a subset's, through HashingBalancer.home: nothing is picked, so no load is counted.
 *
 * It numbers the sets it applies (generations.ts), keeping the last few as assignments so that a
 * key can be asked about at an earlier generation, and the one a planned hand-off has announced;
 * it publishes each change to the watchers of the assignment stream (assignment-stream.ts) with
 * what each pod gained and lost (ownership-diff.ts), and plans changes that have not happened
 * (plan.ts).
 *
 * Single-threaded and synchronous: a lookup is a hash and a table walk; a change costs one
 * assignment build, plus a diff when someone watches.
 */
import type { Logger } from 'pino';
import type { KeyedConfig } from '../balancer/factory.js';
import type { RoutingKey } from '../balancer/hash.js';
import { HashingBalancer } from '../balancer/hashing-balancer.js';
import type { ShardgateConfig } from '../config/config.js';
import { balancerDocument } from '../config/balancer-document.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import type { PlannedHandoffSource } from '../discovery/planned-handoff.js';
import type { Assignment } from './assignment.js';
import { keyedConfig } from './assignment.js';
import { AssignmentStream } from './assignment-stream.js';
import type { StreamEvent, StreamOptions } from './assignment-stream.js';
import type { Member } from './membership.js';
import { membersOf } from './membership.js';
import type { OwnerAnswer } from './owner-answer.js';
import { ownerAnswer } from './owner-answer.js';
import { compareAssignments } from './ownership-diff.js';
import type { OwnershipDiff } from './ownership-diff.js';
import type { Plan, PlanChange, PlanOptions } from './plan.js';
import { makePlan } from './plan.js';
import type { Refusal } from './refusal.js';
import { refusal } from './refusal.js';
import { DEFAULT_SAMPLES, sampleKeys } from './sample-keys.js';
import { roundFractions } from './fractions.js';
import { Generations, KEPT_GENERATIONS } from './generations.js';
import type { GenerationAnnouncement, GenerationChange } from './generations.js';

/** The longest key text read: no header or body field the proxy reads a key from is longer in practice. */
export const MAX_KEY_LENGTH = 65_536;
/** Most keys in one batch. */
export const MAX_BATCH = 1_000;

export interface DirectoryOptions {
  readonly plane: DataPlane;
  /** What the plane was built from: the balancer's options, the key source and transform. */
  readonly config: ShardgateConfig;
  /** The plane's source's planned hand-off delay, whose announcements the stream passes on. */
  readonly handoff?: PlannedHandoffSource | null;
  readonly stream?: StreamOptions;
  /** Keys sampled for diffs and plans where ownership is not computed exactly. */
  readonly samples?: number;
  readonly logger?: Logger | null;
}

/** Where and how to answer a lookup. */
export interface LookupOptions {
  /** Values of the subset selector headers (subsets.headers order), as a request would carry them. */
  readonly subset?: readonly (string | undefined)[] | null;
  /** An earlier (kept) or the pending generation; null for the current one. */
  readonly generation?: number | null;
  /** Names in the answer's `preference`. */
  readonly count: number;
}

export interface MemberShare extends Member {
  /** Fraction of the key space whose home it is. */
  readonly share: number;
}

/** What the directory serves now: `GET /v1/assignments` and the stream's snapshot. */
export interface AssignmentSnapshot {
  readonly generation: number;
  readonly version: number;
  readonly membership: string;
  readonly algorithm: string;
  /** The config fragment that decides owners, as a config file writes it. */
  readonly config: { readonly balancer: unknown; readonly key: string | null; readonly keyTransform: string | null };
  readonly members: readonly MemberShare[];
  /** The change a planned hand-off has announced, or null. */
  readonly pending: { readonly generation: number; readonly membership: string; readonly effectiveAtMs: number } | null;
  /** True when this snapshot stands for events the watcher missed. */
  readonly resync?: boolean;
}

export interface ChangeEvent {
  readonly generation: number;
  readonly previous: number;
  readonly version: number;
  readonly membership: string;
  /** Announced ahead by the planned hand-off delay (a `prepare` came first). */
  readonly planned: boolean;
  readonly members: readonly Member[];
  readonly diff: OwnershipDiff;
}

export interface PrepareEvent {
  /** The generation it will be, unless another change comes first. */
  readonly generation: number;
  readonly previous: number;
  readonly membership: string;
  readonly delayMs: number;
  readonly effectiveAtMs: number;
  readonly effectiveAt: string;
  readonly members: readonly Member[];
  readonly diff: OwnershipDiff;
}

export class Directory {
  readonly plane: DataPlane;
  readonly stream: AssignmentStream;
  /** Null for a keyless balancer: no key has an owner. */
  readonly keyed: KeyedConfig | null;
  readonly #config: ShardgateConfig;
  readonly #sampleCount: number;
  readonly #log: Logger | null;
  readonly #generations: Generations | null;
  readonly #stop: (() => void)[] = [];
  readonly #shares = new WeakMap<Assignment, ReadonlyMap<string, number>>();
  #samples: RoutingKey[] | null = null;

  constructor(options: DirectoryOptions) {
    this.plane = options.plane;
    this.#config = options.config;
    this.keyed = keyedConfig(options.config.balancer);
    this.#sampleCount = options.samples ?? DEFAULT_SAMPLES;
    this.#log = options.logger ?? null;
    this.stream = new AssignmentStream((resync) => this.#snapshotEvent(resync), options.stream);
    this.#generations = this.keyed === null ? null : new Generations(this.keyed);
    const generations = this.#generations;
    if (generations === null) return;
    this.#stop.push(generations.onChange((c) => this.#applied(c)));
    this.#stop.push(generations.onAnnounce((a) => this.#announced(a)));
    this.#stop.push(this.plane.onSet((set) => generations.applied(set)));
    const handoff = options.handoff ?? null;
    if (handoff !== null) this.followPlans(handoff);
    const set = this.plane.current;
    if (set !== null) generations.applied(set);
  }

  /** Passes the planned changes `handoff` announces on to the watchers (when it is opened after the directory). */
  followPlans(handoff: PlannedHandoffSource): void {
    const generations = this.#generations;
    if (generations !== null) this.#stop.push(handoff.onPlan((c) => generations.announced(c)));
  }

  /** The current generation, or null before the first set (or for a keyless balancer). */
  get current(): Assignment | null {
    return this.#generations?.current ?? null;
  }

  /** The owner of one key text, as the proxy's key source would read it. */
  owner(text: string | null, options: LookupOptions): OwnerAnswer | Refusal {
    const ready = this.#ready();
    if ('kind' in ready) return ready;
    const key = this.#key(text, 'key');
    if ('kind' in key) return key;
    return this.#answer(text!, key, ready, options);
  }

  /** The owners of many key texts, in order; refused whole when one of them is no key. */
  owners(texts: readonly unknown[], options: LookupOptions): { readonly generation: number; readonly owners: OwnerAnswer[] } | Refusal {
    const ready = this.#ready();
    if ('kind' in ready) return ready;
    if (texts.length === 0) return refusal(400, 'SG_ERR_KEY_MISSING', 'the batch holds no key: send a JSON array of key strings, or repeat key=');
    if (texts.length > MAX_BATCH) return refusal(400, 'SG_ERR_BATCH', `the batch holds ${texts.length} keys: ask for at most ${MAX_BATCH} at once`);
    const owners: OwnerAnswer[] = [];
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i];
      if (typeof text !== 'string') return refusal(400, 'SG_ERR_KEY_MALFORMED', `[${i}] is ${JSON.stringify(text) ?? String(text)}: every key in a batch is a string, as the proxy reads it`);
      const key = this.#key(text, `[${i}]`);
      if ('kind' in key) return key;
      const a = this.#answer(text, key, ready, options);
      if ('kind' in a) return a;
      owners.push(a);
    }
    return { generation: owners[0]!.generation, owners };
  }

  /**
   * What a change would move (with `ranges`, ring hash's moved ranges too). Allowed on an empty set
   * (plan the first pods), not before any set.
   */
  plan(change: PlanChange, options: PlanOptions = {}): Plan | Refusal {
    if (this.keyed === null) return keyless(this.#config.balancer.algorithm);
    const current = this.current;
    if (current === null) return noSet();
    const plan = makePlan(current, change, this.#sampleKeys(), options);
    return 'kind' in plan ? plan : roundFractions(plan);
  }

  /** The current generation's members and shares. */
  assignments(): AssignmentSnapshot | Refusal {
    if (this.keyed === null) return keyless(this.#config.balancer.algorithm);
    const current = this.current;
    return current === null ? noSet() : this.#snapshot(current, false);
  }

  /** Starts a watch stream on `res`; a refusal when the balancer is keyless or too many watch. */
  watch(res: Parameters<AssignmentStream['add']>[0]): Refusal | null {
    if (this.keyed === null) return keyless(this.#config.balancer.algorithm);
    if (this.stream.add(res)) return null;
    return refusal(503, 'SG_ERR_WATCHERS', `${this.stream.maxWatchers} watchers are watching already: try again later, or watch another directory replica`);
  }

  /** Ends the watch streams and stops following the plane. Idempotent. */
  close(): void {
    for (const stop of this.#stop.splice(0)) stop();
    this.stream.close();
  }

  #ready(): Assignment | Refusal {
    if (this.keyed === null) return keyless(this.#config.balancer.algorithm);
    const current = this.current;
    if (current === null) return noSet();
    if (current.set.endpoints.length === 0) return refusal(503, 'SG_ERR_NO_ENDPOINT', `no endpoint: discovery's set (version ${current.set.version}) is empty, so no key has an owner`);
    return current;
  }

  #key(text: string | null, field: string): RoutingKey | Refusal {
    if (text === null || text.length === 0) return refusal(400, 'SG_ERR_KEY_MISSING', `${field} is ${text === null ? 'missing' : 'empty'}: give the key as the proxy reads it (${this.#config.key ?? 'no key source is configured'}), for example /v1/owner?key=acct-42; an empty key is no key`);
    if (text.length > MAX_KEY_LENGTH) return refusal(400, 'SG_ERR_KEY_MALFORMED', `${field} has ${text.length} characters: keys up to ${MAX_KEY_LENGTH} are read`);
    const key = this.plane.key(text);
    if (key === null) {
      return refusal(400, 'SG_ERR_KEY_MALFORMED', `${field} ${JSON.stringify(text.slice(0, 64))} gives no key through keyTransform ${this.#config.keyTransform ?? ''}: the proxy routes such a request as one without a key, by the keyless balancer, so it has no owner`);
    }
    return key;
  }

  #answer(text: string, key: RoutingKey, current: Assignment, options: LookupOptions): OwnerAnswer | Refusal {
    const generation = options.generation ?? null;
    if (generation !== null && generation !== current.generation) {
      const at = this.#generations!.at(generation);
      return at === null ? gone(generation, this.#generations!.available()) : ownerAnswer(text, key, at.balancer, at, options.count);
    }
    const balancer = this.plane.select(options.subset ?? []);
    if (balancer === null) return refusal(503, 'SG_ERR_NO_SUBSET', this.plane.subsets!.describeMiss(options.subset ?? []));
    // Every subset is built with the plane's algorithm: keyed when the plane's is.
    if (!(balancer instanceof HashingBalancer)) return keyless(balancer.algorithm);
    return ownerAnswer(text, key, balancer, current, options.count);
  }

  #applied({ previous, next, planned }: GenerationChange): void {
    if (previous === null) {
      this.stream.publish(null);
      return;
    }
    if (this.stream.size === 0) return;
    const event: ChangeEvent = {
      generation: next.generation,
      previous: previous.generation,
      version: next.set.version,
      membership: next.membership,
      planned,
      members: membersOf(next.set),
      diff: roundFractions(compareAssignments(previous, next, { samples: this.#sampleKeys() })),
    };
    this.stream.publish({ event: 'change', id: next.generation, data: event });
    this.#log?.debug({ generation: next.generation, moved: event.diff.moved }, 'ownership changed');
  }

  #announced({ current, next, change }: GenerationAnnouncement): void {
    if (this.stream.size === 0) return;
    const event: PrepareEvent = {
      generation: next.generation,
      previous: current.generation,
      membership: next.membership,
      delayMs: change.delayMs,
      effectiveAtMs: change.effectiveAtMs,
      effectiveAt: new Date(change.effectiveAtMs).toISOString(),
      members: membersOf(change.next),
      diff: roundFractions(compareAssignments(current, next, { samples: this.#sampleKeys() })),
    };
    this.stream.publish({ event: 'prepare', id: current.generation, data: event });
  }

  #snapshotEvent(resync: boolean): StreamEvent | null {
    const current = this.current;
    return current === null ? null : { event: 'snapshot', id: current.generation, data: this.#snapshot(current, resync) };
  }

  #snapshot(current: Assignment, resync: boolean): AssignmentSnapshot {
    const shares = this.#sharesOf(current);
    const pending = this.#generations?.pending ?? null;
    const c = this.#config;
    return {
      generation: current.generation,
      version: current.set.version,
      membership: current.membership,
      algorithm: current.config.algorithm,
      config: { balancer: balancerDocument(current.config), key: c.key, keyTransform: c.keyTransform },
      members: membersOf(current.set).map((m) => ({ ...m, share: shares.get(m.endpoint) ?? 0 })),
      pending: pending === null ? null : { generation: pending.assignment.generation, membership: pending.assignment.membership, effectiveAtMs: pending.change.effectiveAtMs },
      ...(resync ? { resync } : {}),
    };
  }

  /** Each endpoint's share of the key space: the diagonal of the assignment against itself. */
  #sharesOf(a: Assignment): ReadonlyMap<string, number> {
    let shares = this.#shares.get(a);
    if (shares === undefined) {
      const diff = compareAssignments(a, a, { samples: this.#sampleKeys(), maxExamples: 0 });
      shares = new Map(diff.endpoints.map((e) => [e.endpoint, roundFractions(e.before)]));
      this.#shares.set(a, shares);
    }
    return shares;
  }

  #sampleKeys(): RoutingKey[] {
    this.#samples ??= sampleKeys(this.keyed!, this.#sampleCount);
    return this.#samples;
  }
}

function keyless(algorithm: string): Refusal {
  return refusal(409, 'SG_ERR_KEYLESS_BALANCER', `the balancer is ${algorithm}, which routes no key to an owner: run with a keyed balancer (--balancer ring-hash, maglev, rendezvous, jump, ordinal, ranges or lookup) and a key source (--key)`);
}

function noSet(): Refusal {
  return refusal(503, 'SG_ERR_NO_ENDPOINT', 'no endpoint set yet: discovery has not delivered one (GET /readyz says why)');
}

function gone(generation: number, kept: readonly number[]): Refusal {
  return refusal(410, 'SG_ERR_GENERATION_GONE', `generation ${generation} is not kept: ask about one of ${kept.join(', ')} (the last ${KEPT_GENERATIONS} and a pending one), or leave generation out for the current one`);
}
