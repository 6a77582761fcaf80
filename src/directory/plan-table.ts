/**
 * A plan as `shardgate plan` prints it: a sentence with how much moves, then the matrix as a
 * table (rows: the pod that owns a key now; columns: the pod that would; cells: percent of all
 * keys; `.` for none), each pod's share before and after, and keys that move.
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
  const size = plan.owners.length;
  const rows = plan.owners.map((o, i) => [label(o), ...plan.matrix[i]!.map(pct), pct(rowSum(plan, i))]);
  const after = plan.owners.map((_, j) => {
    let sum = 0;
    for (let i = 0; i < size; i++) sum += plan.matrix[i]![j]!;
    return pct(sum);
  });
  rows.push(['after', ...after, '']);
  const table = renderTable([{ header: 'now \\ after' }, ...plan.owners.map((o) => ({ header: label(o), align: 'right' as const })), { header: 'now', align: 'right' }], rows, '');
  const moves = plan.examples.map((e) => `  ${e.key}: ${label(e.from)} -> ${label(e.to)}`);
  return [
    `plan: ${what} (${plan.algorithm}, ${how}, from generation ${plan.generation})`,
    `${(100 * plan.moved).toFixed(2)}% of keys move. Percent of all keys, by the pod that owns them now (row) and after (column):`,
    '',
    table,
    ...(moves.length === 0 ? ['no key moves'] : ['keys that move:', ...moves]),
    '',
  ].join('\n');
}

function rowSum(plan: Plan, i: number): number {
  let sum = 0;
  for (const v of plan.matrix[i]!) sum += v;
  return sum;
}
