/**
 * A plan as `shardgate plan` prints it: a sentence with how much moves, then the matrix as a
 * table (rows: the pod that owns a key now; columns: the pod that would; cells: percent of all
 * keys; `.` for none) with each pod's share now and after, or, for more pods than a table holds,
 * the pairs keys move between; then keys that move.
 */
import { renderTable } from '../demo/table.js';
import type { Plan } from './plan.js';

export function formatPlan(plan: Plan): string {
  const c = plan.change;
  const what = [
    ...(c.replicas === null ? [] : [`replicas ${c.replicas}`]),
    ...c.add.map((n) => `add ${n}`),
    ...c.remove.map((n) => `remove ${n}`),
    ...c.drain.map((n) => `drain ${n}`),
  ].join(', ');
  const how = plan.method === 'exact' ? 'exact' : `sampled over ${plan.samples ?? 0} keys`;
  const label = (o: string | null): string => o ?? '(no owner)';
  const pct = (f: number): string => (f === 0 ? '.' : (100 * f).toFixed(2));
  const examples = plan.examples.map((e) => `  ${e.key}: ${label(e.from)} -> ${label(e.to)}`);
  const owners = plan.owners;
  const matrix = plan.matrix;
  let body: string[];
  if (owners === null || matrix === null) {
    // Too many pods for a table: the pairs keys move between, largest first.
    body = ['Percent of all keys, by the pod that owns them now and after:', '', renderTable([{ header: 'now' }, { header: 'after' }, { header: '%', align: 'right' }], plan.moves.map((m) => [label(m.from), label(m.to), pct(m.fraction)]), '')];
  } else {
    const rows = owners.map((o, i) => [label(o), ...matrix[i]!.map(pct), pct(sum(matrix[i]!))]);
    rows.push(['after', ...owners.map((_, j) => pct(sum(matrix.map((row) => row[j]!)))), '']);
    const columns = [{ header: 'now \\ after' }, ...owners.map((o) => ({ header: label(o), align: 'right' as const })), { header: 'now', align: 'right' as const }];
    body = ['Percent of all keys, by the pod that owns them now (row) and after (column):', '', renderTable(columns, rows, '')];
  }
  return [
    `plan: ${what} (${plan.algorithm}, ${how}, from generation ${plan.generation})`,
    `${(100 * plan.moved).toFixed(2)}% of keys move.`,
    ...body,
    ...(examples.length === 0 ? ['no key moves'] : ['keys that move:', ...examples]),
    '',
  ].join('\n');
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
