/**
 * Plans: before a scale change, what it does to ownership. The change (pods added, removed or
 * marked draining, or a StatefulSet's replica count) is applied to the current set to make the
 * set it would lead to, an assignment of the same algorithm and options is built over it (for
 * ordinal, with the new replica count), and the two are compared (ownership-diff.ts): the
 * fraction of the key space that moves from which pod to which, exact for ring hash, sampled
 * otherwise, with keys that move. The same for `GET /v1/plan` and `shardgate plan`.
 */
import type { EndpointSpec } from '../balancer/endpoint.js';
import { createEndpointSet, specOf } from '../balancer/endpoint.js';
import type { KeyedConfig } from '../balancer/factory.js';
import type { RoutingKey } from '../balancer/hash.js';
import { MAX_REPLICAS, parseOrdinal } from '../balancer/ordinal.js';
import { ConfigError } from '../errors.js';
import { Assignment } from './assignment.js';
import { compareAssignments } from './ownership-diff.js';
import type { OwnershipDiff } from './ownership-diff.js';
import type { Refusal } from './refusal.js';
import { refusal } from './refusal.js';

/** The most endpoints a planned set may have. */
export const MAX_PLANNED_ENDPOINTS = 10_000;
/** The address planned endpoints carry: they own keys by name, and no one dials them. */
export const PLANNED_ADDRESS = 'planned:0';

export interface PlanChange {
  readonly add: readonly string[];
  readonly remove: readonly string[];
  readonly drain: readonly string[];
  /** A StatefulSet's new replica count: ordinals from it up are removed, missing ones below it added. */
  readonly replicas: number | null;
  /** Weight of the endpoints added. */
  readonly weight: number;
}

/** The change as written: query parameters or command-line flags. */
export interface PlanInput {
  readonly add: readonly string[];
  readonly remove: readonly string[];
  readonly drain: readonly string[];
  readonly replicas: string | null;
  readonly weight: string | null;
}

/** How each part is written before its value, for the messages: `add=` or `--add `. */
export type PlanNames = Readonly<Record<keyof PlanInput, string>>;

export const QUERY_NAMES: PlanNames = { add: 'add=', remove: 'remove=', drain: 'drain=', replicas: 'replicas=', weight: 'weight=' };

/** Plans with more owners than this list `moves` alone: a matrix of them would not be read. */
export const MAX_MATRIX_OWNERS = 100;

export interface Plan extends OwnershipDiff {
  /**
   * Row and column labels of `matrix`: every endpoint of either side, then null (no home) when
   * some keys have none; null past MAX_MATRIX_OWNERS.
   */
  readonly owners: readonly (string | null)[] | null;
  /** matrix[i][j]: the fraction of the key space whose home is owners[i] now and owners[j] after; its cells sum to 1. */
  readonly matrix: readonly (readonly number[])[] | null;
  readonly algorithm: string;
  readonly change: PlanChange;
  /** The generation planned from. */
  readonly generation: number;
  /** Endpoint names in rotation before and after. */
  readonly before: readonly string[];
  readonly after: readonly string[];
}

export function parsePlanChange(input: PlanInput, names: PlanNames): PlanChange | Refusal {
  const replicas = input.replicas === null ? null : Number(input.replicas);
  if (replicas !== null && (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_PLANNED_ENDPOINTS)) {
    return refusal(400, 'SG_ERR_PLAN', `${names.replicas}${input.replicas ?? ''} is not a replica count: give the StatefulSet's new replica count, a whole number from 0 to ${MAX_PLANNED_ENDPOINTS}`);
  }
  const weight = input.weight === null ? 1 : Number(input.weight);
  if (!Number.isInteger(weight) || weight < 1 || weight > 10_000) {
    return refusal(400, 'SG_ERR_PLAN', `${names.weight}${input.weight ?? ''} is not a weight: the weight of the endpoints added is a whole number from 1 to 10000`);
  }
  if (input.add.length + input.remove.length + input.drain.length === 0 && replicas === null) {
    return refusal(400, 'SG_ERR_PLAN', `no change to plan: give ${names.add}NAME, ${names.remove}NAME, ${names.drain}NAME (each may repeat) or ${names.replicas}N`);
  }
  return { add: input.add, remove: input.remove, drain: input.drain, replicas, weight };
}

/** The assignment `change` leads to from `current`. */
export function plannedAssignment(current: Assignment, change: PlanChange, names: PlanNames): Assignment | Refusal {
  const byName = new Map<string, EndpointSpec>(current.set.endpoints.map((e) => [e.name, specOf(e)]));
  let config: KeyedConfig = current.config;
  if (change.replicas !== null) {
    const r = resize(byName, change.replicas, names);
    if (r !== null) return r;
    // Ordinal owns key mod N: the new count is the new N, whether it was configured or inferred.
    if (config.algorithm === 'ordinal') config = { ...config, replicas: Math.max(1, Math.min(change.replicas, MAX_REPLICAS)) };
  }
  for (const name of change.remove) {
    if (!byName.delete(name)) return refusal(400, 'SG_ERR_PLAN', `${names.remove}${name}: no endpoint has that name; the endpoints are ${listed(byName)}`);
  }
  for (const name of change.drain) {
    const spec = byName.get(name);
    if (spec === undefined) return refusal(400, 'SG_ERR_PLAN', `${names.drain}${name}: no endpoint has that name; the endpoints are ${listed(byName)}`);
    byName.set(name, { ...spec, draining: true });
  }
  for (const name of change.add) {
    if (byName.has(name)) return refusal(400, 'SG_ERR_PLAN', `${names.add}${name}: an endpoint has that name already; add a new pod name`);
    byName.set(name, { name, address: PLANNED_ADDRESS, weight: change.weight });
  }
  if (byName.size > MAX_PLANNED_ENDPOINTS) return refusal(400, 'SG_ERR_PLAN', `the planned set has ${byName.size} endpoints: plans go up to ${MAX_PLANNED_ENDPOINTS}`);
  try {
    return new Assignment(config, createEndpointSet([...byName.values()], current.set.version, 'planned endpoints'), current.generation + 1);
  } catch (e) {
    // A name the set cannot hold, or a table too small for the planned size.
    if (e instanceof ConfigError) return refusal(400, 'SG_ERR_PLAN', e.message);
    throw e;
  }
}

export interface PlanOptions {
  readonly names?: PlanNames;
  /** List ring hash's moved ranges (left out by default: hundreds per pod). */
  readonly ranges?: boolean;
}

export function makePlan(current: Assignment, change: PlanChange, samples: readonly RoutingKey[], options: PlanOptions = {}): Plan | Refusal {
  const next = plannedAssignment(current, change, options.names ?? QUERY_NAMES);
  if ('kind' in next) return next;
  const diff = compareAssignments(current, next, { samples, ...(options.ranges === true ? {} : { maxRanges: 0 }) });
  const inRotation = (a: Assignment): string[] => a.set.endpoints.filter((e) => !e.draining).map((e) => e.name);
  return { algorithm: current.config.algorithm, change, generation: current.generation, before: inRotation(current), after: inRotation(next), ...diff, ...denseMatrix(diff) };
}

/** The diff's moves as a whole matrix, with the shares that stay on its diagonal. */
function denseMatrix(diff: OwnershipDiff): Pick<Plan, 'owners' | 'matrix'> {
  const unowned = diff.unowned.before > 0 || diff.unowned.after > 0;
  const owners: (string | null)[] = diff.endpoints.map((e) => e.endpoint);
  if (unowned) owners.push(null);
  if (owners.length > MAX_MATRIX_OWNERS) return { owners: null, matrix: null };
  const index = new Map(owners.map((o, i) => [o, i]));
  const matrix = owners.map(() => new Array<number>(owners.length).fill(0));
  diff.endpoints.forEach((e, i) => (matrix[i]![i] = e.before - e.lost));
  let fromNone = 0;
  for (const m of diff.moves) {
    matrix[index.get(m.from)!]![index.get(m.to)!] = m.fraction;
    if (m.from === null) fromNone += m.fraction;
  }
  if (unowned) matrix[owners.length - 1]![owners.length - 1] = Math.max(0, diff.unowned.before - fromNone);
  return { owners, matrix };
}

/** StatefulSet names `base-0` .. `base-(replicas-1)`: removes the ordinals above, adds the missing ones. */
function resize(byName: Map<string, EndpointSpec>, replicas: number, names: PlanNames): Refusal | null {
  let base: string | null = null;
  for (const name of byName.keys()) {
    const o = parseOrdinal(name);
    const b = o < 0 ? null : name.slice(0, name.length - String(o).length - 1);
    if (b === null || (base !== null && b !== base) || `${b}-${o}` !== name) {
      return refusal(400, 'SG_ERR_PLAN', `${names.replicas}N needs the endpoints of one StatefulSet, named NAME-<ordinal>; ${JSON.stringify(name)} is not${base === null ? '' : ` ${base}-<ordinal>`}`);
    }
    base = b;
  }
  if (base === null) return refusal(400, 'SG_ERR_PLAN', `${names.replicas}N needs at least one endpoint named NAME-<ordinal> to name the others after`);
  for (const [name] of byName) if (parseOrdinal(name) >= replicas) byName.delete(name);
  for (let o = 0; o < replicas; o++) {
    const name = `${base}-${o}`;
    if (!byName.has(name)) byName.set(name, { name, address: PLANNED_ADDRESS });
  }
  return null;
}

function listed(byName: ReadonlyMap<string, unknown>): string {
  const all = [...byName.keys()];
  return all.length === 0 ? 'none' : all.length <= 8 ? all.join(', ') : `${all.slice(0, 8).join(', ')} and ${all.length - 8} more`;
}
