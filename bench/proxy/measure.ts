/**
 * One measured run: the proxy's CPU time (its whole process tree) before and after, its RSS sampled
 * through the run, and the load generator's numbers.
 */
import type { LoadResult } from './load-result.js';
import { requestsPerSecond } from './load-result.js';
import { sampleTree, watchPeakRss } from '../common/process-tree.js';
import type { RunSample } from './results.js';

/** How often RSS is read during a run. */
const RSS_SAMPLE_MS = 250;

export async function measureRun(rootPid: number, run: () => Promise<LoadResult>): Promise<RunSample> {
  const before = sampleTree(rootPid);
  const rss = watchPeakRss(rootPid, RSS_SAMPLE_MS);
  let load: LoadResult;
  let peakRss = 0;
  try {
    load = await run();
  } finally {
    peakRss = rss.stop();
  }
  const after = sampleTree(rootPid);
  return {
    rps: requestsPerSecond(load),
    p50Us: load.p50Us,
    p99Us: load.p99Us,
    cpuUsPerRequest: load.requests > 0 ? (after.cpuUs - before.cpuUs) / load.requests : NaN,
    rssBytes: peakRss,
    errors: load.errors,
  };
}
