/**
 * What changes between two assignments (two generations, or the current one and a planned one):
 * which fraction of the key space moves from which endpoint to which, as a matrix whose cells sum
 * to 1 (the diagonal is what stays), each endpoint's share before and after, what it gains and
 * loses, and a few keys that move. Homes are compared, as Assignment answers them.
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

export interface OwnershipDiff {
  readonly method: 'exact' | 'sampled';
  /** Keys measured, when sampled; null when exact. */
  readonly samples: number | null;
  /** Fraction of the key space whose home changes. */
  readonly moved: number;
  /** Row and column labels of the matrix: every endpoint of either side by name, then null (no home) when some keys have none. */
  readonly owners: readonly (string | null)[];
  /** matrix[i][j]: fraction of the key space whose home is owners[i] before and owners[j] after. */
  readonly matrix: readonly (readonly number[])[];
  readonly endpoints: readonly EndpointChange[];
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

export function compareAssignments(a: Assignment, b: Assignment, options: DiffOptions): OwnershipDiff {
  const names = [...new Set([...a.set.endpoints.map((e) => e.name), ...b.set.endpoints.map((e) => e.name)])].sort();
  const n = names.length;
  const label = new Map(names.map((name, i) => [name, i]));
  // Endpoint index in each set -> label; the label n is "no home".
  const fromLabel = Int32Array.from(a.set.endpoints, (e) => label.get(e.name)!);
  const toLabel = Int32Array.from(b.set.endpoints, (e) => label.get(e.name)!);
  const counts = Array.from({ length: n + 1 }, () => new Float64Array(n + 1));
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
      counts[i]![j]! += hi - lo + 1;
      if (i === j) return;
      rangeCount += (i < n ? 1 : 0) + (j < n ? 1 : 0);
      if (rangeCount > maxRanges) return;
      if (i < n) ranges[i]!.lost.push([lo, hi]);
      if (j < n) ranges[j]!.gained.push([lo, hi]);
    });
  } else {
    total = options.samples.length;
    for (const k of options.samples) counts[homeLabel(a, k, fromLabel, n)]![homeLabel(b, k, toLabel, n)]!++;
  }
  const examples = movedExamples(a, b, options, fromLabel, toLabel, n, names);
  const noHome = counts[n]!.some((c) => c > 0) || counts.some((row) => row[n]! > 0);
  const size = noHome ? n + 1 : n;
  const matrix: number[][] = [];
  let stay = 0;
  for (let i = 0; i < size; i++) {
    const row: number[] = [];
    for (let j = 0; j < size; j++) row.push(total === 0 ? 0 : counts[i]![j]! / total);
    stay += row[i]!;
    matrix.push(row);
  }
  const endpoints = names.map((endpoint, i): EndpointChange => {
    let before = 0;
    let after = 0;
    for (let j = 0; j < size; j++) {
      before += matrix[i]![j]!;
      after += matrix[j]![i]!;
    }
    const kept = matrix[i]![i]!;
    return { endpoint, before, after, gained: after - kept, lost: before - kept, ranges: exact && maxRanges > 0 && rangeCount <= maxRanges ? ranges[i]! : null };
  });
  return {
    method: exact ? 'exact' : 'sampled',
    samples: exact ? null : total,
    moved: total === 0 ? 0 : Math.max(0, 1 - stay),
    owners: noHome ? [...names, null] : names,
    matrix,
    endpoints,
    examples,
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
