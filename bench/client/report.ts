/**
 * The table of bench:client's HTTP section: per client, the median over rounds of requests per
 * second and of CPU microseconds per request, each against the plain undici Pool of the same run,
 * the failures, and whether the CPU goal (within 1.2x the Pool's per request) holds.
 */
import { markdownTable } from '../common/markdown-table.js';
import type { LoadResult } from './load-loop.js';

/** CPU per request the dispatcher may spend, as a multiple of the plain Pool's. */
export const CPU_GOAL_RATIO = 1.2;

export interface ClientRuns {
  readonly client: string;
  /** The plain Pool that the others are measured against. */
  readonly baseline: boolean;
  /** Held to the CPU goal: the dispatcher's rows. */
  readonly goal: boolean;
  readonly runs: readonly LoadResult[];
}

export interface ClientSummary {
  readonly client: string;
  readonly rps: number;
  readonly cpuUsPerRequest: number;
  readonly failed: number;
  readonly rounds: number;
}

export function summarize(c: ClientRuns): ClientSummary {
  return {
    client: c.client,
    rps: median(c.runs.map((r) => (r.requests * 1000) / r.elapsedMs)),
    cpuUsPerRequest: median(c.runs.map((r) => r.cpuUs / Math.max(1, r.requests))),
    failed: c.runs.reduce((n, r) => n + r.failed, 0),
    rounds: c.runs.length,
  };
}

export function httpTable(clients: readonly ClientRuns[]): string {
  const base = clients.find((c) => c.baseline);
  if (base === undefined) throw new Error('httpTable needs the baseline client');
  const b = summarize(base);
  const rows = clients.map((c) => {
    const s = summarize(c);
    const cpuRatio = s.cpuUsPerRequest / b.cpuUsPerRequest;
    return [
      s.client,
      Math.round(s.rps).toLocaleString('en-US'),
      (s.rps / b.rps).toFixed(2),
      s.cpuUsPerRequest.toFixed(1),
      cpuRatio.toFixed(2),
      String(s.failed),
      c.baseline ? 'baseline' : !c.goal ? '-' : cpuRatio <= CPU_GOAL_RATIO ? 'met' : 'missed',
    ];
  });
  return markdownTable(['client', 'req/s', 'x Pool', 'CPU µs/req', 'x Pool', 'failed', `CPU goal (<= ${CPU_GOAL_RATIO}x)`], rows);
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
