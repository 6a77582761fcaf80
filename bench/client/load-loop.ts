/**
 * A closed load loop in this process: `concurrency` requests in flight through one undici
 * Dispatcher for a while, each sent with `dispatcher.request()` and its body discarded, the keys
 * taken in turn from a list built beforehand (so that every client sends the same headers and
 * the loop allocates the same for all). Measures requests, failures, wall time and this process's
 * CPU time (user + system, process.cpuUsage): the client's whole cost, undici's included.
 */
import type { Dispatcher } from 'undici';

export interface LoadTarget {
  readonly origin: string;
  readonly path: string;
  /** Request headers, one set per key, used in turn. */
  readonly headers: readonly Readonly<Record<string, string>>[];
}

export interface LoadResult {
  readonly requests: number;
  /** Errors and answers other than 200. */
  readonly failed: number;
  readonly elapsedMs: number;
  readonly cpuUs: number;
}

export async function runLoad(dispatcher: Dispatcher, target: LoadTarget, concurrency: number, durationMs: number): Promise<LoadResult> {
  let requests = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const cpuBefore = process.cpuUsage();
  const { origin, path, headers } = target;
  const worker = async (first: number): Promise<void> => {
    for (let i = first; performance.now() < deadline; i += concurrency) {
      try {
        const r = await dispatcher.request({ origin, path, method: 'GET', headers: headers[i % headers.length]! });
        await r.body.dump();
        if (r.statusCode !== 200) failed++;
      } catch {
        failed++;
      }
      requests++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const cpu = process.cpuUsage(cpuBefore);
  return { requests, failed, elapsedMs: performance.now() - started, cpuUs: cpu.user + cpu.system };
}
