/**
 * bench:maglev-sizes: how many keys maglev moves when one endpoint leaves or joins, against the
 * table size, for set sizes from 16 to 1,000 (the evidence behind maglevTableSize in
 * src/balancer/maglev.ts). Movement is counted over the table itself (the share of slots whose
 * owner changed, which is the expected share of keys), averaged over five leavers spread across
 * the set and five newcomers, and shown as a multiple of the ideal 1/n; the leaver's own share is
 * shown in % of all keys beside it, and so is the extra. Also the build time of one table and its
 * memory.
 *
 * Run with `npm run bench:maglev-sizes`; BENCH_SIZES and BENCH_TABLES (comma-separated) choose the
 * rows and columns. Building the largest tables takes a while: the whole run is minutes.
 */
import { createEndpointSet } from '../src/balancer/endpoint.js';
import type { EndpointSet, EndpointSpec } from '../src/balancer/endpoint.js';
import { MAX_TABLE_SIZE, Maglev, SMALL_TABLE_SIZE, maglevTableSize } from '../src/balancer/maglev.js';
import type { MaglevTable } from '../src/balancer/maglev.js';

const SIZES = (process.env.BENCH_SIZES ?? '16,24,32,64,100,128,256,512,1000').split(',').map(Number);
const TABLES = (process.env.BENCH_TABLES ?? `${SMALL_TABLE_SIZE},262147,1048573,${MAX_TABLE_SIZE}`).split(',').map(Number);
const MOVES = 5;

function pod(i: number): EndpointSpec {
  return { name: `sharded-svc-${i}`, address: `10.0.${i >> 8}.${i & 255}:8080` };
}

function slotsMoved(a: MaglevTable, setA: EndpointSet, b: MaglevTable, setB: EndpointSet): number {
  let moved = 0;
  for (let s = 0; s < a.table.length; s++) if (setA.endpoints[a.table[s]!]!.name !== setB.endpoints[b.table[s]!]!.name) moved++;
  return moved;
}

interface Cell {
  readonly leave: number;
  readonly join: number;
  readonly extraPct: number;
  readonly buildMs: number;
}

function measure(n: number, m: number): Cell {
  const maglev = new Maglev(m);
  const specs = Array.from({ length: n }, (_, i) => pod(i));
  const base = createEndpointSet(specs);
  const t0 = performance.now();
  const before = maglev.build(base);
  const buildMs = performance.now() - t0;
  let leave = 0;
  let join = 0;
  for (let k = 0; k < MOVES; k++) {
    const gone = Math.floor((k * n) / MOVES);
    const smaller = createEndpointSet(specs.filter((_, i) => i !== gone));
    leave += slotsMoved(before, base, maglev.build(smaller), smaller) / m;
    const bigger = createEndpointSet([...specs, pod(n + k)]);
    join += slotsMoved(before, base, maglev.build(bigger), bigger) / m;
  }
  leave /= MOVES;
  join /= MOVES;
  return { leave: leave * n, join: join * (n + 1), extraPct: (leave - 1 / n) * 100, buildMs };
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
}

const header = ['endpoints', ...TABLES.map((m) => `M=${m} leave / join x ideal, extra % of keys, build ms`), 'default M'];
const rows: string[][] = [];
for (const n of SIZES) {
  const row = [String(n)];
  for (const m of TABLES) {
    if (n > m) {
      row.push('-');
      continue;
    }
    const c = measure(n, m);
    row.push(`${c.leave.toFixed(2)} / ${c.join.toFixed(2)}, +${c.extraPct.toFixed(3)}%, ${c.buildMs.toFixed(0)}`);
    process.stderr.write('.');
  }
  row.push(String(maglevTableSize(n)));
  rows.push(row);
}
process.stderr.write('\n');
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(`bench:maglev-sizes: one endpoint leaving (average of ${MOVES} spread over the set) or joining (${MOVES} newcomers, one at a time); ideal = 1/n`);
console.log('memory: 2 bytes a slot below 65535 endpoints, 4 from there; ' + TABLES.map((m) => `M=${m}: ${((m * 2) / 1024).toFixed(0)} KiB`).join(', '));
console.log(pad(header, widths));
console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of rows) console.log(pad(r, widths));
