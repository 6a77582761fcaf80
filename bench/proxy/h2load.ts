/**
 * h2load, the h2c load (prior knowledge, as h2load speaks to an http:// URL): its arguments and the
 * parse of its summary. h2load prints no percentiles, so latency comes from its per-request log
 * (`--log-file`: start time, status, microseconds to the response, tab-separated).
 */
import type { LoadResult } from './load-result.js';
import { percentileOfSorted } from './load-result.js';

export interface H2loadRun {
  readonly url: string;
  readonly connections: number;
  readonly streams: number;
  readonly durationS: number;
  readonly logFile: string;
  readonly headers?: readonly string[];
}

export function h2loadArgs(r: H2loadRun): string[] {
  return ['-t1', `-c${r.connections}`, `-m${r.streams}`, '-D', String(r.durationS), `--log-file=${r.logFile}`, ...(r.headers ?? []).flatMap((h) => ['-H', h]), r.url];
}

export interface H2loadSummary {
  readonly durationS: number;
  readonly done: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
}

const UNIT_S: Record<string, number> = { s: 1, ms: 1e-3, us: 1e-6 };

/** Parses `finished in ...` and `requests: ...`; throws, quoting the output, when either is missing. */
export function parseH2loadSummary(stdout: string): H2loadSummary {
  const fin = /^finished in ([\d.]+)(s|ms|us),/m.exec(stdout);
  const req = /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(stdout);
  if (fin === null || req === null) throw new Error(`h2load printed no summary (finished in / requests:):\n${stdout.slice(-2000)}`);
  return {
    durationS: Number(fin[1]) * UNIT_S[fin[2]!]!,
    done: Number(req[3]),
    succeeded: Number(req[4]),
    failed: Number(req[5]),
    errored: Number(req[6]),
    timeout: Number(req[7]),
  };
}

/** Response times in microseconds of the 2xx and 3xx lines of an h2load log, ascending. */
export function parseH2loadLog(log: string): Float64Array {
  const times: number[] = [];
  for (const line of log.split('\n')) {
    const f = line.split('\t');
    if (f.length < 3) continue;
    const status = Number(f[1]);
    const us = Number(f[2]);
    if (status >= 200 && status < 400 && Number.isFinite(us)) times.push(us);
  }
  return Float64Array.from(times).sort();
}

export function h2loadResult(stdout: string, log: string): LoadResult {
  const s = parseH2loadSummary(stdout);
  const times = parseH2loadLog(log);
  return {
    requests: s.succeeded,
    durationS: s.durationS,
    p50Us: percentileOfSorted(times, 50),
    p99Us: percentileOfSorted(times, 99),
    // "failed" includes the errored ones and non-2xx/3xx answers; timeouts are counted apart.
    errors: s.failed + s.timeout,
  };
}
