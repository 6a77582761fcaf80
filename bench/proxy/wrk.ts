/**
 * wrk, the HTTP/1.1 keep-alive load: its arguments, the Lua scripts it runs and the parse of what
 * they print. A `done` hook prints one machine-readable line, `WRK_RESULT {json}`, so that nothing
 * depends on the human summary's units (us, ms, s, k, M). In hashing mode a `request` hook gives
 * every request a key out of KEY_COUNT, so that consistent hashing spreads the load.
 */
import type { LoadResult } from './load-result.js';

const RESULT_PREFIX = 'WRK_RESULT ';

const DONE_HOOK = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${RESULT_PREFIX}{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
`;

/** A script that only reports. */
export function reportScript(): string {
  return DONE_HOOK;
}

/** A script that sends `header: account-<i>` with i cycling through `keys` values, and reports. */
export function keyedScript(header: string, keys: number): string {
  if (!/^[a-z0-9-]+$/.test(header)) throw new Error(`key header ${JSON.stringify(header)}: use lower-case letters, digits and "-"`);
  return `local n = 0
local headers = {}
request = function()
  n = n + 1
  if n >= ${keys} then n = 0 end
  headers["${header}"] = "account-" .. n
  return wrk.format(nil, nil, headers)
end
${DONE_HOOK}`;
}

export interface WrkRun {
  readonly url: string;
  readonly connections: number;
  readonly threads: number;
  readonly durationS: number;
  readonly scriptPath: string;
  /** Extra request headers, `name: value`. */
  readonly headers?: readonly string[];
}

export function wrkArgs(r: WrkRun): string[] {
  return [
    `-t${r.threads}`,
    `-c${r.connections}`,
    `-d${r.durationS}s`,
    // Above any latency here, so that a slow request is measured, not dropped as a timeout.
    '--timeout',
    '10s',
    '-s',
    r.scriptPath,
    ...(r.headers ?? []).flatMap((h) => ['-H', h]),
    r.url,
  ];
}

interface WrkJson {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

/** Reads the `WRK_RESULT` line of wrk's output; throws, quoting the output, when it is missing. */
export function parseWrkOutput(stdout: string): LoadResult {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (line === undefined) throw new Error(`wrk printed no ${RESULT_PREFIX.trim()} line (did the script run?):\n${stdout.slice(-2000)}`);
  const j = JSON.parse(line.slice(RESULT_PREFIX.length)) as WrkJson;
  for (const [k, v] of Object.entries(j)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`wrk result field ${k} is ${String(v)}: ${line}`);
  }
  // wrk counts non-2xx/3xx answers in `requests` as well as in errors.status.
  return {
    requests: j.requests - j.status,
    durationS: j.duration_us / 1e6,
    p50Us: j.p50_us,
    p99Us: j.p99_us,
    errors: j.connect + j.read + j.write + j.status + j.timeout,
  };
}
