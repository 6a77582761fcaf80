/**
 * bench:faults: shardgate beside HAProxy when pods fail and clients misbehave. Each scenario runs
 * against each proxy in turn, with the same client, each proxy freshly started (one worker, the
 * settings of faults/targets.ts) in front of fresh pods (Node HTTP/1.1 servers, one process each,
 * that the benchmark kills, hangs, resets, restarts or slows). The client keeps GET and POST
 * requests in flight at fixed concurrency, every request with a unique id; the pods log the ids
 * they take on, so that a POST delivered twice is seen.
 *
 * One table: per scenario and proxy, the GETs that failed (a retry is allowed for them), the
 * POSTs that failed or were delivered twice, the peak growth of the proxy's RSS (its whole
 * process tree) over what it was just before, and the scenario's own measure. Then what the
 * client and the pods saw.
 *
 * Run with `npm run bench:faults` (it installs HAProxy if missing, and builds). Knobs: see
 * faults/settings.ts.
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findBinary, firstLine } from './common/binaries.js';
import { completeBenchRun, startBenchRun } from './common/bench-run.js';
import { commandLine } from './common/children.js';
import { sampleTree, watchPeakRss } from './common/process-tree.js';
import { FaultClient } from './faults/fault-client.js';
import { PodSet } from './faults/pod-set.js';
import { startProxy } from './faults/proxy-under-test.js';
import type { ProxyUnderTest } from './faults/proxy-under-test.js';
import type { ScenarioRow, TargetOutcome } from './faults/report.js';
import { faultsTable, MEMORY_MARGIN_BYTES, observations } from './faults/report.js';
import type { Scenario, ScenarioContext } from './faults/scenarios.js';
import { BASE_PODS, REQUEST_TIMEOUT_MS, scenarios, STALLED_MAX_CONNECTIONS } from './faults/scenarios.js';
import { readFaultSettings } from './faults/settings.js';
import { duplicatedIds, reasonsText, requestCounts } from './faults/tally.js';
import type { FaultTargetName } from './faults/targets.js';
import { CLIENT_HEADERS_TIMEOUT_S, CLIENT_TIMEOUT_S, haproxyFaultConfig, RETRIES, SERVER_TIMEOUT_S, shardgateFaultArgs, TARGET_LABELS } from './faults/targets.js';

const SYSTEM_DEPS = 'bash scripts/ensure-system-deps.sh haproxy';
/** Unmeasured load first: connections opened, code compiled, every pod reached. */
const WARM_UP_MS = 1_000;
/** A proxy settles this long after the warm-up before its RSS is read. */
const SETTLE_MS = 500;
const RSS_SAMPLE_MS = 100;

const settings = readFaultSettings(process.env);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const run = startBenchRun('bench:faults');
const { registry, baseDir, log } = run;

interface Clients {
  readonly client: FaultClient;
  readonly abuser: FaultClient;
}

async function runOne(scenario: Scenario, target: FaultTargetName, clients: Clients, haproxyBinary: string): Promise<{ outcome: TargetOutcome; proxy: ProxyUnderTest | null }> {
  const dir = join(baseDir, scenario.name, target);
  mkdirSync(dir, { recursive: true });
  const pods = await PodSet.start(registry, scenario.pods, dir);
  const backends = pods.backends().slice(0, BASE_PODS);
  const started = await startProxy(registry, target, { dir, backends, maxConnections: scenario.maxConnections, perPod: scenario.perPod, repoRoot, haproxyBinary });
  if (started.kind === 'absent') {
    await pods.stop();
    return { outcome: started, proxy: null };
  }
  const proxy = started.proxy;
  const notes: string[] = [];
  try {
    const warm = await clients.client.load({ port: proxy.port, concurrency: settings.concurrency, durationMs: WARM_UP_MS, idPrefix: 'warm', timeoutMs: REQUEST_TIMEOUT_MS }).done;
    const warmFailures = warm.idempotent.failed + warm.nonIdempotent.failed;
    if (warmFailures > 0) notes.push(`${warmFailures} failures in the warm-up, before any fault`);
    await sleep(SETTLE_MS);
    const idPrefix = `${scenario.name}-${target}`;
    let loadStarted = Date.now();
    const ctx: ScenarioContext = {
      settings,
      proxy,
      pods,
      backends,
      client: clients.client,
      abuser: clients.abuser,
      idPrefix,
      load: (durationMs = settings.durationS * 1000) => {
        loadStarted = Date.now();
        return clients.client.load({ port: proxy.port, concurrency: settings.concurrency, durationMs, idPrefix, timeoutMs: REQUEST_TIMEOUT_MS });
      },
      at: (fraction) => sleep(Math.max(0, loadStarted + fraction * settings.durationS * 1000 - Date.now())),
      log: (line) => {
        notes.push(line);
        log(`  ${scenario.name} ${target}: ${line}`);
      },
    };
    const before = sampleTree(proxy.child.pid).rssBytes;
    const rss = watchPeakRss(proxy.child.pid, RSS_SAMPLE_MS);
    let result;
    let peak = before;
    try {
      result = await scenario.run(ctx);
    } finally {
      peak = rss.stop();
    }
    const duplicated = duplicatedIds(pods.seenText(), 'POST', `${idPrefix}-`);
    return {
      outcome: {
        kind: 'measured',
        run: {
          counts: requestCounts(result.tally, duplicated),
          rssGrowthBytes: peak - before,
          extra: result.extra,
          idempotentReasons: reasonsText(result.tally.idempotent),
          nonIdempotentReasons: reasonsText(result.tally.nonIdempotent),
          duplicatedIds: duplicated,
          notes,
        },
      },
      proxy,
    };
  } catch (e) {
    log(`${scenario.name} ${target}: ${(e as Error).stack ?? String(e)}`);
    return { outcome: { kind: 'absent', reason: `failed: ${(e as Error).message.split('\n')[0]}` }, proxy };
  } finally {
    await clients.abuser.release();
    await registry.stop(proxy.child);
    await pods.stop();
  }
}

function summary(o: TargetOutcome): string {
  if (o.kind === 'absent') return o.reason;
  const c = o.run.counts;
  return `GET ${c.idempotent.failed}/${c.idempotent.sent} failed, POST ${c.nonIdempotent.lost}/${c.nonIdempotent.sent} failed or duplicated, RSS +${(o.run.rssGrowthBytes / 1e6).toFixed(1)} MB${o.run.extra === null ? '' : `, ${o.run.extra.text}`}`;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const haproxyBinary = findBinary('haproxy', SYSTEM_DEPS);
  const versions = [`node ${process.version}`, firstLine(haproxyBinary, ['-v'])];
  const clients: Clients = {
    client: FaultClient.start(registry, 'load client', join(baseDir, 'client.log')),
    abuser: FaultClient.start(registry, 'abusive client', join(baseDir, 'abuser.log')),
  };
  const rows: ScenarioRow[] = [];
  const commandLines = new Map<FaultTargetName, string>();
  const started = Date.now();
  for (const scenario of scenarios(settings)) {
    const results: ScenarioRow['results'] = {};
    for (const target of settings.targets) {
      const t0 = Date.now();
      const { outcome, proxy } = await runOne(scenario, target, clients, haproxyBinary);
      results[target] = outcome;
      if (proxy !== null && !commandLines.has(target)) commandLines.set(target, proxy.commandLine);
      log(`${scenario.name} ${target} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${summary(outcome)}`);
    }
    rows.push({ name: scenario.name, label: scenario.label, results });
  }

  const cpu = cpus();
  const d = settings.durationS;
  console.log(`bench:faults: ${d} s of load per scenario at ${settings.concurrency} requests in flight, half GET, half POST; ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}; ${Math.round((Date.now() - started) / 1000)} s in all`);
  console.log(versions.join('; '));
  console.log(`load average (1 min) ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end: anything else running competes with the proxies, the pods and the client for the cores`);
  console.log(`
Each proxy: one worker, round robin over ${BASE_PODS} pods, ${RETRIES} retries on another pod, passive and active health checks, a pod's answer timed out after ${SERVER_TIMEOUT_S} s (full settings at the end). Each scenario starts both afresh, with fresh pods; the fault comes a third of the way into the load.

- GET failed: GETs answered other than 2xx, or not at all, of those sent. A GET may be retried, so the goal is 0.
- POST failed or dup: POSTs that failed, or that the pods took on twice (a duplicate), of those sent. A POST may be retried only where it never reached a pod, so failures are expected where a pod fails mid-request; the goal is 0 duplicates and no failure a retry could have saved.
- RSS growth MB: the peak of the proxy's RSS (summed over its processes) during the scenario, minus its RSS just before, after the warm-up. The goal is flat memory.
- also measured: the scenario's own measure. Slowloris connections should be closed by the request head timeout (${CLIENT_HEADERS_TIMEOUT_S} s for both), stalled bodies within ${settings.stallWaitS} s (HAProxy's timeout client is ${CLIENT_TIMEOUT_S} s), transfers should complete.
- ${TARGET_LABELS.shardgate} vs ${TARGET_LABELS.haproxy}: WORSE or better where one proxy failed more requests and a larger share of those it sent (the proxies do not send as many; for POSTs, where it delivered more twice, or failed more by over two standard deviations, 2 x sqrt(a + b), since which requests in flight on a failing pod are POSTs is a draw), where RSS growth differs by more than ${MEMORY_MARGIN_BYTES / 1e6} MB, or where the scenario's own measure is met by one proxy only. The goal: never worse than HAProxy in any row.
`);
  console.log(faultsTable(rows));
  const seen = observations(rows);
  console.log('\nWhat the client and the pods saw:');
  console.log(seen.length > 0 ? seen.join('\n') : '- nothing failed');
  console.log(`\nLimits: ${STALLED_MAX_CONNECTIONS} client connections for the stalled bodies (--max-connections, maxconn), 4096 or more elsewhere.`);
  console.log('\nSettings (ports and paths of the first run; the reload scenario adds and removes pod-4 and changes weights, in both alike):');
  console.log(`- shardgate: ${commandLines.get('shardgate') ?? commandLine('node', ['bin/shardgate.js', ...shardgateFaultArgs({ port: 8080, endpointsFile: 'endpoints.yaml', maxConnections: 4096 })])}`);
  console.log(`- HAProxy: ${commandLines.get('haproxy') ?? 'haproxy -W -db -f haproxy.cfg'}, with this config (example ports):\n`);
  console.log(
    haproxyFaultConfig({ port: 8080, backends: Array.from({ length: BASE_PODS }, (_, i) => ({ name: `pod-${i}`, port: 9000 + i, weight: 1 })), maxConnections: 4096 })
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  );
}

await completeBenchRun(run, main);
