/**
 * The goals shardgate's proxy is held to, checked against one run's numbers. A goal whose numbers
 * are missing (a target not run, a feature not there yet) is n/a, never met.
 */
import { MB } from './report.js';
import type { HotKeyRow, IdleRow, MainRow } from './results.js';
import { findRow } from './results.js';
import type { BalanceMode, LoadName } from './scenario.js';
import { BALANCE_MODES } from './scenario.js';
import type { TargetName } from './targets.js';

export type GoalStatus = 'met' | 'missed' | 'n/a';

export interface Goal {
  readonly text: string;
  readonly status: GoalStatus;
  readonly detail: string;
}

export const GOALS = {
  /** shardgate's req/s over HAProxy's, one thread each, HTTP/1.1 at 64 connections. */
  minThroughputVsHaproxy: 0.85,
  /** shardgate's req/s over HAProxy's, one thread each, h2c at 1 connection x 64 streams. */
  minH2cThroughputVsHaproxy: 0.7,
  /** shardgate's req/s over the faster plain Node proxy's. */
  minThroughputVsNode: 1.3,
  /** CPU per request and p99 over HAProxy's, at every HTTP/1.1 load. */
  maxCpuVsHaproxy: 1.5,
  maxP99VsHaproxy: 1.5,
  /**
   * RSS the idle connections add to the proxy's processes (with them open, minus just before,
   * the proxy freshly started): Node.js alone takes about 45 MB before a single connection.
   */
  maxIdleAddedRssBytes: 40 * MB,
} as const;

const NODE_PROXIES: readonly TargetName[] = ['http-proxy-3', 'reply-from'];
const SHARDGATES: readonly TargetName[] = ['shardgate', 'shardgate-w2'];

function x(v: number): string {
  return `x${v.toFixed(2)}`;
}

function rps(v: number): string {
  return `${Math.round(v).toLocaleString('en-US')} req/s`;
}

function measured(rows: readonly MainRow[], target: TargetName, mode: BalanceMode, load: LoadName): MainRow | null {
  const r = findRow(rows, target, mode, load);
  return r?.result ? r : null;
}

function throughputGoal(rows: readonly MainRow[], mode: BalanceMode, target: TargetName, reference: TargetName, min: number, text: string, load: LoadName = 'h1-64'): Goal {
  const a = measured(rows, target, mode, load);
  const b = measured(rows, reference, mode, load);
  if (a === null || b === null) return { text, status: 'n/a', detail: `${a === null ? target : reference} not measured${a === null ? `: ${findRow(rows, target, mode, load)?.note ?? 'not run'}` : ''}` };
  const r = a.result!.rps / b.result!.rps;
  return { text, status: r >= min ? 'met' : 'missed', detail: `${x(r)} (${rps(a.result!.rps)} vs ${rps(b.result!.rps)})` };
}

/** A ratio to HAProxy's at every load measured for both. */
function costGoal(rows: readonly MainRow[], mode: BalanceMode, text: string, max: number, value: (r: MainRow) => number, unit: (v: number) => string): Goal {
  const parts: string[] = [];
  let worst = 0;
  for (const s of rows.filter((r) => r.target === 'shardgate' && r.mode === mode && r.result !== null && r.load.startsWith('h1'))) {
    const ref = measured(rows, 'haproxy', mode, s.load);
    if (ref === null) continue;
    const r = value(s) / value(ref);
    worst = Math.max(worst, r);
    parts.push(`${s.load} ${x(r)} (${unit(value(s))} vs ${unit(value(ref))})`);
  }
  if (parts.length === 0) return { text, status: 'n/a', detail: 'shardgate and haproxy not both measured' };
  return { text, status: worst <= max ? 'met' : 'missed', detail: parts.join(', ') };
}

export function evaluateGoals(rows: readonly MainRow[], idle: readonly IdleRow[], hot: readonly HotKeyRow[], hotBound: number): Goal[] {
  const goals: Goal[] = [];
  for (const mode of BALANCE_MODES) {
    goals.push(throughputGoal(rows, mode, 'shardgate', 'haproxy', GOALS.minThroughputVsHaproxy, `${mode}: shardgate (1 worker) >= ${GOALS.minThroughputVsHaproxy} x HAProxy (nbthread 1) req/s, HTTP/1.1 64 conns`));
    const nodes = NODE_PROXIES.map((t) => measured(rows, t, mode, 'h1-64')).filter((r): r is MainRow => r !== null);
    const fastest = nodes.sort((a, b) => b.result!.rps - a.result!.rps)[0];
    goals.push(
      throughputGoal(rows, mode, 'shardgate', fastest?.target ?? 'reply-from', GOALS.minThroughputVsNode, `${mode}: shardgate (1 worker) >= ${GOALS.minThroughputVsNode} x the plain Node proxy (the faster of ${NODE_PROXIES.join(', ')})${fastest ? ` [${fastest.target}]` : ''}`),
    );
    goals.push(throughputGoal(rows, mode, 'shardgate', 'shardgate-prev', 1, `${mode}: shardgate ahead of its previous path (node:http + undici), req/s, HTTP/1.1 64 conns`));
    if (mode === 'round-robin') goals.push(throughputGoal(rows, mode, 'shardgate', 'haproxy', GOALS.minH2cThroughputVsHaproxy, `${mode}: shardgate (1 worker) >= ${GOALS.minH2cThroughputVsHaproxy} x HAProxy (nbthread 1) req/s, h2c 1 conn x 64 streams`, 'h2-64'));
    goals.push(costGoal(rows, mode, `${mode}: shardgate CPU per request <= ${GOALS.maxCpuVsHaproxy} x HAProxy's, every HTTP/1.1 load`, GOALS.maxCpuVsHaproxy, (r) => r.result!.cpuUsPerRequest, (v) => `${v.toFixed(1)} us`));
    goals.push(costGoal(rows, mode, `${mode}: shardgate p99 <= ${GOALS.maxP99VsHaproxy} x HAProxy's, every HTTP/1.1 load`, GOALS.maxP99VsHaproxy, (r) => r.result!.p99Us, (v) => `${(v / 1000).toFixed(2)} ms`));
    goals.push(throughputGoal(rows, mode, 'shardgate-w2', 'haproxy-2t', 1, `${mode}: shardgate --workers 2 ahead of HAProxy nbthread 2 (req/s, HTTP/1.1 64 conns)`));
  }
  const shardgateRows = rows.filter((r) => SHARDGATES.includes(r.target) && r.result !== null);
  const errors = shardgateRows.reduce((a, r) => a + r.result!.errors, 0);
  goals.push({
    text: 'no errors in shardgate runs',
    status: shardgateRows.length === 0 ? 'n/a' : errors === 0 ? 'met' : 'missed',
    detail: shardgateRows.length === 0 ? 'shardgate not measured' : `${errors} errors in ${shardgateRows.length} rows`,
  });
  const hotRows = hot.filter((r) => SHARDGATES.includes(r.target) && r.note === null);
  const hotOver = hotRows.filter((r) => Math.max(...r.peaks) > hotBound);
  goals.push({
    text: `hot key: shardgate's peak per-pod concurrency never above ceil(c x average) = ${hotBound}`,
    status: hotRows.length === 0 ? 'n/a' : hotOver.length === 0 ? 'met' : 'missed',
    detail: hotRows.length === 0 ? 'not measured' : hotRows.map((r) => `${r.target} ${Math.max(...r.peaks)}`).join(', '),
  });
  const idleRows = idle.filter((r) => SHARDGATES.includes(r.target) && r.note === null);
  const heavy = idleRows.filter((r) => r.rssWithBytes - r.rssBeforeBytes >= GOALS.maxIdleAddedRssBytes);
  goals.push({
    text: `idle connections: the RSS they add to shardgate under ${GOALS.maxIdleAddedRssBytes / MB} MB`,
    status: idleRows.length === 0 ? 'n/a' : heavy.length === 0 ? 'met' : 'missed',
    detail: idleRows.length === 0 ? 'not measured' : idleRows.map((r) => `${r.target} +${((r.rssWithBytes - r.rssBeforeBytes) / MB).toFixed(1)} MB for ${r.open.toLocaleString('en-US')} open (${(r.rssWithBytes / MB).toFixed(1)} MB in all)`).join(', '),
  });
  return goals;
}

export function goalsSection(goals: readonly Goal[]): string {
  const mark: Record<GoalStatus, string> = { met: 'met   ', missed: 'MISSED', 'n/a': 'n/a   ' };
  return goals.map((g) => `- ${mark[g.status]} ${g.text}: ${g.detail}`).join('\n');
}
