/**
 * What changes between two assignments (two generations, or the current one and a planned one):
 * which fraction of the key space moves from which endpoint to which (the off-diagonal cells of
 * the matrix whose rows are the homes before and columns the homes after, listed sparsely: a
 * membership of thousands changes a few cells), each endpoint's share before and after, what it
 * gains and loses, and a few keys that move. Homes are compared, as Assignment answers them.
 *
 * Exact for ring hash (both sides): the rings are merged arc by arc (ring-arcs.ts), and each
 * endpoint's gained and lost ranges of `xxh64(key) >>> 32` are listed. Other algorithms are
 * measured over sample keys (sample-keys.ts): with S samples a fraction p is off by about
 * sqrt(p(1-p)/S) (under 0.3 percentage points at the default 32,768); `samples` says how many.
 * Cost: exact O(R1 + R2) for rings of R nodes; sampled, two homes per sample.
 */
import type { RoutingKey } from '../balancer/hash.js';
import type { Assignment } from './assignment.js';
import { compareRings, RING } from './ring-arcs.js';

/** A range of `xxh64(key) >>> 32`, both ends included. */
export type HashRange = readonly [number, number];

export interface EndpointChange {
  readonly endpoint: string;
  /** Fractions of the key space whose home it is before and after. */
  readonly before: number;
  readonly after: number;
  readonly gained: number;
  readonly lost: number;
  /** Ring hash: the ranges it gains and loses; null where the algorithm has no ranges, or past maxRanges. */
  readonly ranges: { readonly gained: readonly HashRange[]; readonly lost: readonly HashRange[] } | null;
}

export interface MovedKey {
  readonly key: string;
  readonly from: string | null;
  readonly to: string | null;
}

/** A fraction of the key space whose home goes from one endpoint to another (null: no home). */
export interface Move {
  readonly from: string | null;
  readonly to: string | null;
  readonly fraction: number;
}

export interface OwnershipDiff {
  readonly method: 'exact' | 'sampled';
  /** Keys measured, when sampled; null when exact. */
  readonly samples: number | null;
  /** Fraction of the key space whose home changes: the sum of `moves`. */
  readonly moved: number;
  /** Every pair of endpoints keys move between, largest first: the matrix without its diagonal, sparse. */
  readonly moves: readonly Move[];
  /** Every endpoint of either side, by name. */
  readonly endpoints: readonly EndpointChange[];
  /** Fractions of the key space with no home before and after (ordinal or ranges owners missing, no endpoint). */
  readonly unowned: { readonly before: number; readonly after: number };
  /** Some keys that move (routing keys, after any key transform). */
  readonly examples: readonly MovedKey[];
}

export interface DiffOptions {
  /** Sample keys: the measure where no exact one exists, and where examples come from. */
  readonly samples: readonly RoutingKey[];
  /** Most example keys; at most two per pair of endpoints. */
  readonly maxExamples?: number;
  /** Most ranges listed in all; past it, or at 0, ranges are left out (null). */
  readonly maxRanges?: number;
}

export const DEFAULT_MAX_EXAMPLES = 12;
export const DEFAULT_MAX_RANGES = 20_000;
const EXAMPLES_PER_PAIR = 2;

/** O(moves + endpoints) in memory: pairs are counted sparsely, never as an n x n matrix. */
export function compareAssignments(a: Assignment, b: Assignment, options: DiffOptions): OwnershipDiff {
  const names = [...new Set([...a.set.endpoints.map((e) => e.name), ...b.set.endpoints.map((e) => e.name)])].sort();
  const n = names.length;
  const label = new Map(names.map((name, i) => [name, i]));
  // Endpoint index in each set -> label; the label n is "no home".
  const fromLabel = Int32Array.from(a.set.endpoints, (e) => label.get(e.name)!);
  const toLabel = Int32Array.from(b.set.endpoints, (e) => label.get(e.name)!);
  const before = new Float64Array(n + 1);
  const after = new Float64Array(n + 1);
  /** (from * (n + 1) + to) -> amount, for from !== to. */
  const pairs = new Map<number, number>();
  const count = (i: number, j: number, amount: number): void => {
    before[i]! += amount;
    after[j]! += amount;
    if (i !== j) pairs.set(i * (n + 1) + j, (pairs.get(i * (n + 1) + j) ?? 0) + amount);
  };
  const ranges = Array.from({ length: n }, () => ({ gained: [] as HashRange[], lost: [] as HashRange[] }));
  let rangeCount = 0;
  const maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
  const ringA = a.ring;
  const ringB = b.ring;
  const exact = ringA !== null && ringB !== null;
  let total: number;
  if (exact) {
    total = RING;
    compareRings(ringA, ringB, ({ lo, hi, from, to }) => {
      const i = from < 0 ? n : fromLabel[from]!;
      const j = to < 0 ? n : toLabel[to]!;
      count(i, j, hi - lo + 1);
      if (i === j) return;
      rangeCount += (i < n ? 1 : 0) + (j < n ? 1 : 0);
      if (rangeCount > maxRanges) return;
      if (i < n) ranges[i]!.lost.push([lo, hi]);
      if (j < n) ranges[j]!.gained.push([lo, hi]);
    });
  } else {
    total = options.samples.length;
    for (const k of options.samples) count(homeLabel(a, k, fromLabel, n), homeLabel(b, k, toLabel, n), 1);
  }
  const share = (x: number): number => (total === 0 ? 0 : x / total);
  const lost = new Float64Array(n + 1);
  const gained = new Float64Array(n + 1);
  const moves: Move[] = [];
  let moved = 0;
  for (const [pair, amount] of pairs) {
    const i = Math.floor(pair / (n + 1));
    const j = pair % (n + 1);
    lost[i]! += amount;
    gained[j]! += amount;
    moved += amount;
    moves.push({ from: i === n ? null : names[i]!, to: j === n ? null : names[j]!, fraction: share(amount) });
  }
  moves.sort((x, y) => y.fraction - x.fraction);
  const listRanges = exact && maxRanges > 0 && rangeCount <= maxRanges;
  const endpoints = names.map(
    (endpoint, i): EndpointChange => ({
      endpoint,
      before: share(before[i]!),
      after: share(after[i]!),
      gained: share(gained[i]!),
      lost: share(lost[i]!),
      ranges: listRanges ? ranges[i]! : null,
    }),
  );
  return {
    method: exact ? 'exact' : 'sampled',
    samples: exact ? null : total,
    moved: share(moved),
    moves,
    endpoints,
    unowned: { before: share(before[n]!), after: share(after[n]!) },
    examples: movedExamples(a, b, options, fromLabel, toLabel, n, names),
  };
}

function homeLabel(x: Assignment, key: RoutingKey, labels: Int32Array, none: number): number {
  const home = x.home(key);
  return 'kind' in home ? none : labels[home.index]!;
}

/** Sample keys whose home differs, at most EXAMPLES_PER_PAIR per pair of endpoints. */
function movedExamples(a: Assignment, b: Assignment, options: DiffOptions, fromLabel: Int32Array, toLabel: Int32Array, n: number, names: readonly string[]): MovedKey[] {
  const max = options.maxExamples ?? DEFAULT_MAX_EXAMPLES;
  const out: MovedKey[] = [];
  const perPair = new Map<number, number>();
  for (const k of options.samples) {
    if (out.length >= max) break;
    const i = homeLabel(a, k, fromLabel, n);
    const j = homeLabel(b, k, toLabel, n);
    if (i === j) continue;
    const pair = i * (n + 1) + j;
    const seen = perPair.get(pair) ?? 0;
    if (seen >= EXAMPLES_PER_PAIR) continue;
    perPair.set(pair, seen + 1);
    out.push({ key: k.text, from: i === n ? null : names[i]!, to: j === n ? null : names[j]! });
  }
  return out;
}
