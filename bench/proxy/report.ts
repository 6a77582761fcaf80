/**
 * The printed tables of bench:proxy, in Markdown: the main table with every value's ratio to the
 * HAProxy of as many threads measured in the same run, the idle-connections memory and the
 * hot-key concurrency.
 */
import { markdownTable } from '../common/markdown-table.js';
import type { HotKeyRow, IdleRow, MainRow } from './results.js';
import { findRow } from './results.js';
import { LOADS } from './scenario.js';
import { targetSpec } from './targets.js';

export const MB = 1e6;

function integer(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function ms(us: number): string {
  if (!Number.isFinite(us)) return '-';
  const v = us / 1000;
  return v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

function ratio(value: number | undefined, reference: number | undefined): string {
  if (value === undefined || reference === undefined || !Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return '-';
  return value / reference >= 10 ? (value / reference).toFixed(1) : (value / reference).toFixed(2);
}

function loadLabel(name: string): string {
  return LOADS.find((l) => l.name === name)?.label ?? name;
}

export function mainTable(rows: readonly MainRow[]): string {
  const header = ['load', 'balancing', 'proxy', 'req/s', 'vs HA', 'p50 ms', 'vs HA', 'p99 ms', 'vs HA', 'CPU us/req', 'vs HA', 'RSS MB', 'vs HA', 'errors', 'spread'];
  const cells = rows.map((r) => {
    const spec = targetSpec(r.target);
    const head = [loadLabel(r.load), r.mode, spec.label];
    const a = r.result;
    if (a === null) return [...head, r.note ?? 'n/a', ...Array<string>(header.length - 4).fill('-')];
    const ref = findRow(rows, spec.reference, r.mode, r.load)?.result ?? undefined;
    return [
      ...head,
      integer(a.rps),
      ratio(a.rps, ref?.rps),
      ms(a.p50Us),
      ratio(a.p50Us, ref?.p50Us),
      ms(a.p99Us),
      ratio(a.p99Us, ref?.p99Us),
      a.cpuUsPerRequest.toFixed(1),
      ratio(a.cpuUsPerRequest, ref?.cpuUsPerRequest),
      (a.rssBytes / MB).toFixed(1),
      ratio(a.rssBytes, ref?.rssBytes),
      integer(a.errors),
      a.rounds > 1 ? `±${Math.round((a.rpsSpread * 100) / 2)}%` : '-',
    ];
  });
  return markdownTable(header, cells, 3);
}

export function idleTable(rows: readonly IdleRow[], wanted: number): string {
  const header = ['proxy', 'RSS MB before', `RSS MB with ${integer(wanted)} idle`, 'added MB', 'KB per conn', 'open', 'failed', 'closed by proxy'];
  const cells = rows.map((r) => {
    const label = targetSpec(r.target).label;
    if (r.note !== null) return [label, r.note, ...Array<string>(header.length - 2).fill('-')];
    const added = r.rssWithBytes - r.rssBeforeBytes;
    return [
      label,
      (r.rssBeforeBytes / MB).toFixed(1),
      (r.rssWithBytes / MB).toFixed(1),
      (added / MB).toFixed(1),
      r.open > 0 ? (added / r.open / 1000).toFixed(2) : '-',
      integer(r.open),
      integer(r.failed),
      integer(r.dropped),
    ];
  });
  return markdownTable(header, cells, 1);
}

export function hotKeyTable(rows: readonly HotKeyRow[], bound: number): string {
  const pods = Math.max(0, ...rows.map((r) => r.peaks.length));
  const header = ['proxy', ...Array.from({ length: pods }, (_, i) => `peak pod-${i}`), 'max', `bound ${bound}`, 'requests per pod', 'errors'];
  const cells = rows.map((r) => {
    const label = targetSpec(r.target).label;
    if (r.note !== null) return [label, r.note, ...Array<string>(header.length - 2).fill('-')];
    const max = Math.max(...r.peaks);
    return [label, ...r.peaks.map(String), String(max), max <= bound ? 'within' : 'ABOVE', r.requests.map(integer).join(' / '), integer(r.errors)];
  });
  return markdownTable(header, cells, 1);
}
