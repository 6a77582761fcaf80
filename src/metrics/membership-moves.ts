/**
 * How much of the key space each membership change moved: the directory's ownership diff
 * (src/directory/ownership-diff.ts) between the assignment before and after every applied set,
 * exact for ring hash and measured over sample keys for the other keyed algorithms (4,096 by
 * default: about +-0.8 percentage points). Counted on the thread that runs discovery, once per set,
 * off the request path. Keyless balancers own no keys: only the generation counts there.
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import type { RoutingKey } from '../balancer/hash.js';
import type { ShardgateConfig } from '../config/config.js';
import { keyedConfig } from '../directory/assignment.js';
import { Generations } from '../directory/generations.js';
import type { GenerationChange } from '../directory/generations.js';
import { compareAssignments } from '../directory/ownership-diff.js';
import { sampleKeys } from '../directory/sample-keys.js';

export const MOVE_SAMPLES = 4_096;

export class MembershipMoves {
  /** Sets applied so far: the generation served. */
  generation = 0;
  /** Changes after the first set. */
  changes = 0;
  /** Fraction of the key space the last change moved; 0 before the first change. */
  lastMoved = 0;
  /** Sum of the fractions moved by every change. */
  movedTotal = 0;
  readonly #generations: Generations | null;
  #samples: RoutingKey[] | null = null;
  readonly #sampleCount: number;

  constructor(config: ShardgateConfig, samples = MOVE_SAMPLES) {
    const keyed = keyedConfig(config.balancer);
    this.#sampleCount = samples;
    this.#generations = keyed === null ? null : new Generations(keyed);
    this.#generations?.onChange((c) => this.#changed(c));
  }

  /** A set was applied by the routers (the workers were sent it, or the plane applied it). */
  applied(set: EndpointSet): void {
    this.generation++;
    if (this.#generations !== null) this.#generations.applied(set);
    else if (this.generation > 1) this.changes++;
  }

  #changed({ previous, next }: GenerationChange): void {
    if (previous === null) return;
    this.#samples ??= sampleKeys(next.config, this.#sampleCount);
    const diff = compareAssignments(previous, next, { samples: this.#samples, maxExamples: 0, maxRanges: 0 });
    this.changes++;
    this.lastMoved = diff.moved;
    this.movedTotal += diff.moved;
  }
}
