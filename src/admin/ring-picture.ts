/**
 * The ring of a ring-hash balancer as the admin page draws it: arcs of the 32-bit ring with their
 * home pod, adjacent arcs with the same home merged (a ring of 400 nodes per pod has about as many
 * runs as nodes, so this is tens of kilobytes, asked only when the set changes). Exact: the arcs
 * are the directory's (src/directory/ring-arcs.ts), the ones picks walk.
 */
import type { Assignment } from '../directory/assignment.js';
import { RING } from '../directory/ring-arcs.js';

export interface RingPicture {
  readonly generation: number;
  /** Pod names; `arcs` refer to them by index. */
  readonly endpoints: readonly string[];
  /**
   * Runs of the ring in clockwise order from 0: `[start, home]`, start as a fraction of the ring
   * (0 to 1), home an index into `endpoints` or -1 for none. A run ends where the next starts;
   * the last wraps to the first.
   */
  readonly arcs: readonly (readonly [number, number])[];
}

/** Null when the assignment's algorithm has no ring. */
export function ringPicture(assignment: Assignment): RingPicture | null {
  const ring = assignment.ring;
  if (ring === null) return null;
  const { positions, homes } = ring;
  const arcs: [number, number][] = [];
  const n = positions.length;
  if (n === 0) return { generation: assignment.generation, endpoints: [], arcs: [] };
  // Node j's arc is (p[j-1], p[j]]: the arc from 0 up to p[0] and the one past the last node
  // belong to node 0, wrapping.
  for (let j = 0; j <= n; j++) {
    const home = homes[j % n]!;
    const start = j === 0 ? 0 : (positions[j - 1]! + 1) / RING;
    if (arcs.length === 0 || arcs[arcs.length - 1]![1] !== home) arcs.push([Number(start.toFixed(6)), home]);
  }
  return { generation: assignment.generation, endpoints: assignment.set.endpoints.map((e) => e.name), arcs };
}
