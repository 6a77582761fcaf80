/**
 * DNS discovery re-resolves at once after a connect failure: the real binary, a real DNS server
 * (dnsmasq) whose answers live 300 s, so that the TTL timer (capped at 30 s) cannot be what finds
 * a moved pod during the test; and continuous keyed load (identity.ts). With one worker and with
 * several, whose failures reach the main thread that runs discovery.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsApplied, podName as pod, SRV, startSrvSetup } from './identity.js';
import type { LogLine } from './run.js';

const TTL_SECONDS = 300;
const REFRESHED = 'a connection to the endpoint failed: re-resolving now';

const refreshLines = (lines: readonly LogLine[], from: number): LogLine[] => lines.slice(from).filter((l) => l.msg === REFRESHED);

for (const workers of [1, 2]) {
  test(`dns re-resolution, --workers ${workers}: a pod back at a new address is found right after the first refused connect, long before the TTL; no request fails`, async (t) => {
    const { pods, records, specs, dns, served, check } = await startSrvSetup(t, workers, { ttlSeconds: TTL_SECONDS, logQueries: true });
    const oldAddress = pods.get(pod(1)).address;
    let from = 0;
    const moved = await check.step(
      'the pod moves',
      async () => {
        from = served.lines.length;
        // The pod goes, and comes back at a new port that DNS names a moment later: the proxy
        // learns of it only by asking again.
        await pods.stop(pod(1));
        await pods.start(pod(1));
        await dns.setRecords(records([0, 1, 2, 3]));
        // Well inside the 30 s the timer waits after a 300 s TTL (counted from the first
        // resolution, moments before this step).
        await endpointsApplied(served, from, specs([0, 1, 2, 3]), 'the pod at its new address', 8_000);
      },
      () => specs([0, 1, 2, 3]),
    );
    assert.notEqual(pods.get(pod(1)).address, oldAddress);
    assert.deepEqual(moved, [], 'the pod keeps its keys at its new address');
    const refreshes = refreshLines(served.lines, from);
    assert.ok(refreshes.length > 0, 'the proxy re-resolved because a connection failed');
    assert.ok(refreshes.every((l) => l.endpoint === pod(1)), `every re-resolution names the pod that moved: ${JSON.stringify(refreshes)}`);
    assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
  });
}

test('dns re-resolution: a storm of refused connects costs at most one resolution a second', async (t) => {
  // Without outlier detection every request for the gone pod's keys meets its old address for as
  // long as DNS still names it: hundreds of refused connects a second, from two workers.
  const { pods, dns, served, check } = await startSrvSetup(t, 2, { ttlSeconds: TTL_SECONDS, logQueries: true }, ['--no-outlier-detection']);
  const elsewhere = check.servedByOthers(pod(1));
  const from = served.lines.length;
  const queriesBefore = dns.queries('SRV', SRV);
  const started = performance.now();
  await pods.stop(pod(1));
  await new Promise((r) => setTimeout(r, 3_000));
  const failedConnects = elsewhere.stop();
  await check.load.stop();
  // A re-resolution asked for at the storm's end runs a gap later; then every log line is in.
  await new Promise((r) => setTimeout(r, 1_500));
  const elapsedMs = performance.now() - started;
  const refreshes = refreshLines(served.lines, from).length;
  const queries = dns.queries('SRV', SRV) - queriesBefore;
  assert.ok(failedConnects >= 100, `a storm: ${failedConnects} requests met the gone pod and were served by the next owner`);
  assert.ok(refreshes >= 2, `re-resolved at once and again at the end of the gap (${refreshes})`);
  assert.ok(refreshes <= Math.floor(elapsedMs / 1_000) + 1, `${refreshes} re-resolutions in ${Math.round(elapsedMs)} ms: at most one a second`);
  assert.equal(queries, refreshes, 'each re-resolution is one SRV query, and nothing else asked');
  assert.deepEqual(check.load.failures, [], 'no request failed');
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});
