/**
 * What bench:faults prints: one Markdown table, a row per scenario, shardgate's and HAProxy's value
 * side by side for each measure, and a last column saying where shardgate did worse or better;
 * then, per scenario, what the client and the pods saw.
 *
 * Worse and better: more failures than the other proxy and a larger share of those sent, both,
 * since the proxies do not send as many requests in a scenario: some failures grow with the
 * requests sent (a race on every reused connection), others with the requests in flight when a pod
 * fails; for POSTs, any more duplicates, or more failures beyond noise; peak RSS growth more than MEMORY_MARGIN_BYTES above the
 * other's (a Node.js heap grows and shrinks by a few MB with any load); the scenario's own measure
 * when it is what is wanted for one proxy and not for the other.
 */
import { markdownTable } from '../common/markdown-table.js';
import type { ScenarioName } from './scenario-names.js';
import type { Extra } from './scenarios.js';
import type { RequestCounts } from './tally.js';
import type { FaultTargetName } from './targets.js';
import { TARGET_LABELS } from './targets.js';

export const MEMORY_MARGIN_BYTES = 20e6;
const MB = 1e6;
/** Duplicated ids the notes quote at most. */
const QUOTED_IDS = 3;

export interface TargetRun {
  readonly counts: RequestCounts;
  /** Peak RSS of the proxy's process tree during the scenario, minus just before. */
  readonly rssGrowthBytes: number;
  readonly extra: Extra | null;
  /** `3 x HTTP 502, ...` for the failed GETs, and for the failed POSTs. */
  readonly idempotentReasons: string;
  readonly nonIdempotentReasons: string;
  readonly duplicatedIds: readonly string[];
  /** Anything else the run logged about itself. */
  readonly notes: readonly string[];
}

export type TargetOutcome = { readonly kind: 'measured'; readonly run: TargetRun } | { readonly kind: 'absent'; readonly reason: string };

export interface ScenarioRow {
  readonly name: ScenarioName;
  readonly label: string;
  readonly results: Partial<Record<FaultTargetName, TargetOutcome>>;
}

const integer = (n: number): string => n.toLocaleString('en-US');

function rate(failed: number, sent: number): number {
  return sent === 0 ? 0 : failed / sent;
}

/**
 * `worse` or `better` for a pair of failure counts, or null when neither is. With `noise`, a
 * difference counts only beyond two standard deviations of the difference of two Poisson counts
 * (a - b > 2 x sqrt(a + b)): for POSTs lost when a pod fails mid-request, which of the requests in
 * flight happen to be POSTs is a draw, and 17 against 15 says nothing.
 */
function failureSide(a: { failed: number; sent: number }, b: { failed: number; sent: number }, noise = false): 'worse' | 'better' | null {
  const beyond = (x: number, y: number): boolean => !noise || x - y > 2 * Math.sqrt(x + y);
  if (a.failed > b.failed && rate(a.failed, a.sent) > rate(b.failed, b.sent) && beyond(a.failed, b.failed)) return 'worse';
  if (b.failed > a.failed && rate(b.failed, b.sent) > rate(a.failed, a.sent) && beyond(b.failed, a.failed)) return 'better';
  return null;
}

/** Where shardgate (`a`) did worse or better than HAProxy (`b`): the measures, named. */
export function compareRuns(a: TargetRun, b: TargetRun): { readonly worse: readonly string[]; readonly better: readonly string[] } {
  const worse: string[] = [];
  const better: string[] = [];
  const side = (s: 'worse' | 'better' | null, what: string): void => {
    if (s === 'worse') worse.push(what);
    if (s === 'better') better.push(what);
  };
  // GETs may all be retried: any difference counts. POSTs: a duplicate always counts; failures
  // beyond noise.
  side(failureSide(a.counts.idempotent, b.counts.idempotent), 'GET');
  const da = a.counts.nonIdempotent.duplicated;
  const db = b.counts.nonIdempotent.duplicated;
  const failedPosts = (c: RequestCounts): { failed: number; sent: number } => ({ failed: c.nonIdempotent.failed, sent: c.nonIdempotent.sent });
  side(da > db ? 'worse' : da < db ? 'better' : failureSide(failedPosts(a.counts), failedPosts(b.counts), true), 'POST');
  const growth = a.rssGrowthBytes - b.rssGrowthBytes;
  side(growth > MEMORY_MARGIN_BYTES ? 'worse' : growth < -MEMORY_MARGIN_BYTES ? 'better' : null, 'memory');
  if (a.extra !== null && b.extra !== null && a.extra.good !== b.extra.good) side(a.extra.good ? 'better' : 'worse', a.extra.what);
  return { worse, better };
}

function verdict(row: ScenarioRow): string {
  const a = row.results.shardgate;
  const b = row.results.haproxy;
  if (a?.kind !== 'measured' || b?.kind !== 'measured') return '-';
  const { worse, better } = compareRuns(a.run, b.run);
  const parts = [...(worse.length > 0 ? [`WORSE: ${worse.join(', ')}`] : []), ...(better.length > 0 ? [`better: ${better.join(', ')}`] : [])];
  return parts.length > 0 ? parts.join('; ') : 'even';
}

function cellsOf(o: TargetOutcome | undefined): { get: string; post: string; rss: string; also: string } {
  if (o === undefined) return { get: '-', post: '-', rss: '-', also: '-' };
  if (o.kind === 'absent') return { get: 'n/a', post: 'n/a', rss: 'n/a', also: 'n/a' };
  const c = o.run.counts;
  const dup = c.nonIdempotent.duplicated > 0 ? ` (${integer(c.nonIdempotent.duplicated)} dup)` : '';
  const mb = o.run.rssGrowthBytes / MB;
  const ofSent = (failed: number, sent: number, more = ''): string => (sent === 0 ? '-' : `${integer(failed)} / ${integer(sent)}${more}`);
  return {
    get: ofSent(c.idempotent.failed, c.idempotent.sent),
    post: ofSent(c.nonIdempotent.lost, c.nonIdempotent.sent, dup),
    rss: `${mb >= 0 ? '+' : ''}${mb.toFixed(1)}`,
    also: o.run.extra?.text ?? '',
  };
}

export function faultsTable(rows: readonly ScenarioRow[]): string {
  const [a, b] = [TARGET_LABELS.shardgate, TARGET_LABELS.haproxy];
  const header = [
    'scenario',
    `GET failed: ${a}`,
    b,
    `POST failed or dup: ${a}`,
    b,
    `RSS growth MB: ${a}`,
    b,
    `also measured: ${a}`,
    b,
    `${a} vs ${b}`,
  ];
  const cells = rows.map((row) => {
    const x = cellsOf(row.results.shardgate);
    const y = cellsOf(row.results.haproxy);
    return [row.label, x.get, y.get, x.post, y.post, x.rss, y.rss, x.also || '-', y.also || '-', verdict(row)];
  });
  return markdownTable(header, cells, 1);
}

/** A line per scenario and proxy: the failures by reason, the duplicated ids, the run's notes; nothing for a clean run. */
export function observations(rows: readonly ScenarioRow[]): string[] {
  const lines: string[] = [];
  for (const row of rows) {
    for (const [target, o] of Object.entries(row.results) as [FaultTargetName, TargetOutcome][]) {
      const who = `${row.name}, ${TARGET_LABELS[target]}`;
      if (o.kind === 'absent') {
        lines.push(`- ${who}: not measured: ${o.reason}`);
        continue;
      }
      const r = o.run;
      const parts: string[] = [];
      if (r.idempotentReasons !== '') parts.push(`GET failed: ${r.idempotentReasons}`);
      if (r.nonIdempotentReasons !== '') parts.push(`POST failed: ${r.nonIdempotentReasons}`);
      if (r.duplicatedIds.length > 0) {
        const quoted = r.duplicatedIds.slice(0, QUOTED_IDS).join(', ');
        parts.push(`POST delivered twice to the pods: ${r.duplicatedIds.length} (${quoted}${r.duplicatedIds.length > QUOTED_IDS ? ', ...' : ''})`);
      }
      parts.push(...r.notes);
      if (parts.length > 0) lines.push(`- ${who}: ${parts.join('; ')}`);
    }
  }
  return lines;
}
