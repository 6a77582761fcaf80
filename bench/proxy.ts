/**
 * bench:proxy: shardgate beside HAProxy, nginx and the Node.js proxy a user would write instead
 * (http-proxy-3; fastify + @fastify/reply-from on undici), all configured alike, in front of the
 * same 4 pods (a child process of their own, so that each proxy's CPU is measured alone).
 * shardgate runs twice at one worker: with its raw HTTP/1.1 upstream (the default) and with
 * the previous path: Node's HTTP/1.1 server and undici's Pool toward the pods (`shardgate-prev`,
 *    SHARDGATE_HTTP1_PATH=node SHARDGATE_UPSTREAM_H1=undici).
 *
 * 1. Every target in round robin and in consistent hashing on a header, driven by the same load
 *    generator for BENCH_DURATION seconds per run, targets alternating, BENCH_ROUNDS times: wrk
 *    for HTTP/1.1 keep-alive at 1 and 64 connections, h2load for h2c at 1 connection x 64
 *    streams. One table: req/s, p50, p99, the proxy's CPU microseconds per request (utime + stime
 *    of its process tree), its RSS, each against HAProxy's of the same run.
 * 2. RSS while 10,000 idle keep-alive client connections are open.
 * 3. The hot key: 64 connections with one key to slow pods; each proxy's peak per-pod concurrency
 *    against ceil(c x average).
 * 4. The goals, met or missed.
 *
 * Run with `npm run bench:proxy` (it installs HAProxy, nginx, wrk and h2load if missing, and
 * builds). Knobs: see bench/proxy/settings.ts.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findBinary, firstLine } from './common/binaries.js';
import { completeBenchRun, startBenchRun } from './common/bench-run.js';
import { evaluateGoals, goalsSection } from './proxy/goals.js';
import type { IdleReply } from './proxy/idle-messages.js';
import type { Instance, InstanceContext, Started } from './proxy/instance.js';
import { startInstance } from './proxy/instance.js';
import { LoadGenerator } from './proxy/load-generator.js';
import { measureRun } from './proxy/measure.js';
import { PodFleet } from './common/pod-fleet.js';
import { sampleTree } from './common/process-tree.js';
import { hotKeyTable, idleTable, mainTable } from './proxy/report.js';
import type { HotKeyRow, IdleRow, MainRow, RunSample } from './proxy/results.js';
import { aggregate } from './proxy/results.js';
import type { BalanceMode, LoadShape } from './proxy/scenario.js';
import { BALANCE_MODES, boundedLoadLimit, BOUNDED_LOAD, HOT_KEY_CONNECTIONS, KEY_HEADER, LOADS, SLOW_POD_DELAY_MS } from './proxy/scenario.js';
import { readSettings } from './proxy/settings.js';
import type { ShardgateFeatures, TargetName, TargetSpec } from './proxy/targets.js';
import { targetSpec } from './proxy/targets.js';

const POD_COUNT = 4;
/** Unmeasured load each instance gets first: connections opened, JIT compiled, routing checked. */
const WARM_UP_S = 2;
/** Time for a proxy to settle before and after the idle connections open. */
const SETTLE_MS = 1_000;
const IDLE_OPEN_TIMEOUT_MS = 180_000;
const SYSTEM_DEPS = 'bash scripts/ensure-system-deps.sh haproxy nginx wrk nghttp2-client';

const settings = readSettings(process.env);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const script = (name: string): string => fileURLToPath(new URL(`./proxy/${name}`, import.meta.url));
const run = startBenchRun('bench:proxy');
const { registry, baseDir, log } = run;

function detectShardgate(): ShardgateFeatures {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'shardgate.js'), 'serve', '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`shardgate serve --help failed (${r.status}); was it built (npm run build)?\n${r.stderr}`);
  return { workers: r.stdout.includes('--workers') };
}

const key = (target: TargetName, mode: BalanceMode): string => `${target}/${mode}`;

/** Rows the table leaves out, as the note under it says: h2c with hashing, 1 connection on 2 threads. */
function leftOut(spec: TargetSpec, mode: BalanceMode, load: LoadShape): boolean {
  return (load.protocol === 'h2c' && mode === 'hash') || (load.connections * load.streams === 1 && spec.threads > 1);
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const binaries = { haproxy: findBinary('haproxy', SYSTEM_DEPS), nginx: findBinary('nginx', SYSTEM_DEPS), wrk: findBinary('wrk', SYSTEM_DEPS), h2load: findBinary('h2load', SYSTEM_DEPS) };
  const features = detectShardgate();
  const versions = [
    `node ${process.version}`,
    firstLine(binaries.haproxy, ['-v']),
    firstLine(binaries.nginx, ['-v']),
    firstLine(binaries.wrk, ['-v']).replace(/ Copyright.*/, ''),
    firstLine(binaries.h2load, ['--version']),
  ];

  const fleet = await PodFleet.start(registry, POD_COUNT, join(baseDir, 'pods.log'));
  const ctx: InstanceContext = {
    pods: fleet.pods,
    baseDir,
    repoRoot,
    nodeProxyScript: script('node-proxy-process.js'),
    nodeBinary: process.execPath,
    haproxyBinary: binaries.haproxy,
    nginxBinary: binaries.nginx,
    shardgate: features,
    maxConnections: Math.max(1024, settings.idleConnections + 2048),
  };
  const gen = new LoadGenerator(registry, baseDir);
  const loads = LOADS.filter((l) => settings.loads.includes(l.name));
  const h1At64 = LOADS.find((l) => l.name === 'h1-64')!;

  // Start every target in both modes; each is warmed up and seen to reach every pod.
  const instances = new Map<string, Started>();
  for (const target of settings.targets) {
    for (const mode of BALANCE_MODES) {
      const spec = targetSpec(target);
      let started = await startInstance(registry, spec, mode, ctx);
      if (started.kind === 'started') {
        await fleet.reset();
        const warm = await gen.run({ shape: h1At64, port: started.instance.h1Port, durationS: WARM_UP_S, keyed: mode === 'hash' });
        const reached = (await fleet.stats()).filter((p) => p.requests > 0).map((p) => p.name);
        if (warm.errors > 0 || reached.length < POD_COUNT) {
          await registry.stop(started.instance.child);
          started = { kind: 'absent', reason: `warm-up failed: ${warm.errors} errors, pods reached: ${reached.join(' ') || 'none'}` };
        }
      }
      instances.set(key(target, mode), started);
      log(`${target} (${mode}): ${started.kind === 'started' ? `ready on ${started.instance.h1Port}${'port' in started.instance.h2 ? `, h2c on ${started.instance.h2.port}` : ''}` : started.reason}`);
    }
  }

  // The measured runs, targets alternating within each load, rounds outermost.
  const samples = new Map<string, RunSample[]>();
  const notes = new Map<string, string>();
  const generatorCommands = new Map<string, string>();
  for (let round = 1; round <= settings.rounds; round++) {
    for (const load of loads) {
      for (const mode of BALANCE_MODES) {
        for (const target of settings.targets) {
          const rowKey = `${target}/${mode}/${load.name}`;
          const started = instances.get(key(target, mode))!;
          if (leftOut(targetSpec(target), mode, load)) continue;
          if (started.kind === 'absent') {
            notes.set(rowKey, started.reason);
            continue;
          }
          const inst = started.instance;
          if (load.protocol === 'h2c' && 'reason' in inst.h2) {
            notes.set(rowKey, inst.h2.reason);
            continue;
          }
          const port = load.protocol === 'h2c' ? (inst.h2 as { port: number }).port : inst.h1Port;
          const g = { shape: load, port, durationS: settings.durationS, keyed: mode === 'hash' };
          generatorCommands.set(`${load.name}/${mode}`, gen.commandLine({ ...g, port: 0 }).replace('127.0.0.1:0', '127.0.0.1:PORT'));
          try {
            const s = await measureRun(inst.child.pid, () => gen.run(g));
            samples.set(rowKey, [...(samples.get(rowKey) ?? []), s]);
            log(`round ${round} ${load.name} ${mode} ${target}: ${Math.round(s.rps)} req/s, ${s.cpuUsPerRequest.toFixed(1)} us/req${s.errors > 0 ? `, ${s.errors} errors` : ''}`);
          } catch (e) {
            notes.set(rowKey, `failed: ${(e as Error).message.split('\n')[0]}`);
            log(`round ${round} ${load.name} ${mode} ${target}: ${(e as Error).message}`);
          }
        }
      }
    }
  }
  const rows: MainRow[] = [];
  for (const load of loads) {
    for (const mode of BALANCE_MODES) {
      for (const target of settings.targets) {
        const rowKey = `${target}/${mode}/${load.name}`;
        const s = samples.get(rowKey);
        if (s !== undefined) rows.push({ target, mode, load: load.name, result: aggregate(s), note: null });
        else if (notes.has(rowKey)) rows.push({ target, mode, load: load.name, result: null, note: notes.get(rowKey)! });
      }
    }
  }

  // Idle connections: RSS while a client holds them open. Each target starts afresh (round robin),
  // so that heap left over from the load runs, collected meanwhile, cannot hide what they cost.
  const idle: IdleRow[] = [];
  if (settings.idleConnections > 0) {
    for (const target of settings.targets) {
      const started = await startInstance(registry, targetSpec(target), 'round-robin', { ...ctx, baseDir: join(baseDir, 'idle') });
      if (started.kind === 'absent') {
        idle.push({ target, rssBeforeBytes: 0, rssWithBytes: 0, open: 0, failed: 0, dropped: 0, note: started.reason });
        continue;
      }
      try {
        idle.push(await idleConnections(started.instance, settings.idleConnections));
      } finally {
        await registry.stop(started.instance.child);
      }
      const r = idle[idle.length - 1]!;
      log(`idle ${target}: ${r.open} open, ${(r.rssBeforeBytes / 1e6).toFixed(1)} -> ${(r.rssWithBytes / 1e6).toFixed(1)} MB`);
    }
  }

  // The hot key: every request with one key, to slow pods; hashing mode.
  const hot: HotKeyRow[] = [];
  const hotBound = boundedLoadLimit(HOT_KEY_CONNECTIONS, POD_COUNT);
  const hotShape: LoadShape = { ...h1At64, connections: HOT_KEY_CONNECTIONS };
  if (settings.hotKey) {
    await fleet.setDelay(SLOW_POD_DELAY_MS);
    for (const target of settings.targets) {
      const started = instances.get(key(target, 'hash'))!;
      if (started.kind === 'absent') {
        hot.push({ target, peaks: [], requests: [], errors: 0, note: started.reason });
        continue;
      }
      // Requests of the previous target still waiting on the slow pods would count as this one's.
      await fleet.drain();
      await fleet.reset();
      const g = { shape: hotShape, port: started.instance.h1Port, durationS: settings.durationS, keyed: false, headers: [`${KEY_HEADER}: hot-key`] };
      generatorCommands.set('hot-key', gen.commandLine({ ...g, port: 0 }).replace('127.0.0.1:0', '127.0.0.1:PORT'));
      try {
        const r = await gen.run(g);
        const stats = await fleet.stats();
        hot.push({ target, peaks: stats.map((p) => p.peakInFlight), requests: stats.map((p) => p.requests), errors: r.errors, note: null });
        log(`hot key ${target}: peaks ${stats.map((p) => p.peakInFlight).join(' ')}`);
      } catch (e) {
        hot.push({ target, peaks: [], requests: [], errors: 0, note: `failed: ${(e as Error).message.split('\n')[0]}` });
      }
    }
    await fleet.setDelay(0);
  }

  const cpu = cpus();
  console.log(
    `bench:proxy: ${settings.durationS} s per run, ${settings.rounds} round(s), targets alternating; ${POD_COUNT} Node pods in a process of their own; ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}`,
  );
  console.log(versions.join('; '));
  console.log(
    `load average (1 min) ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end: anything else running competes with the proxies, the pods and the load generator for the cores`,
  );
  console.log(
    `vs HA: ratio to HAProxy nbthread 1 of the same run (2-thread rows: to HAProxy nbthread 2); hashing: ${KEY_HEADER} header over 10,000 keys, bounded loads c = ${BOUNDED_LOAD} where the proxy has them; spread: half the req/s range over the rounds\n`,
  );
  console.log(mainTable(rows));
  console.log('\nNot in the table: h2c with hashing (h2load sends the same headers on every request, so one key); 1 connection for the 2-thread targets (one connection runs on one thread).');
  if (idle.length > 0) {
    console.log(`\nRSS with ${settings.idleConnections.toLocaleString('en-US')} idle keep-alive client connections (one request each, then idle; round-robin mode; RSS summed over the proxy's processes)\n`);
    console.log(idleTable(idle, settings.idleConnections));
  }
  if (hot.length > 0) {
    console.log(`\nHot key: ${HOT_KEY_CONNECTIONS} connections, one key, pods answering after ${SLOW_POD_DELAY_MS} ms, hashing mode, ${settings.durationS} s; peak requests in flight per pod as the pods counted them; bound ceil(${BOUNDED_LOAD} x ${HOT_KEY_CONNECTIONS}/${POD_COUNT}) = ${hotBound}\n`);
    console.log(hotKeyTable(hot, hotBound));
  }
  console.log('\nGoals:');
  console.log(goalsSection(evaluateGoals(rows, idle, hot, hotBound)));
  console.log('\nCommand lines (round-robin and hash instances differ only in their balancing flags or config):');
  for (const [k, started] of instances) if (started.kind === 'started') console.log(`- ${k}: ${started.instance.commandLine}`);
  for (const [k, cmd] of generatorCommands) console.log(`- load ${k}: ${cmd}`);
  console.log(`- idle connections: node ${script('idle-client-process.js')} PORT ${settings.idleConnections}`);
}

async function idleConnections(inst: Instance, count: number): Promise<IdleRow> {
  const target = inst.spec.name;
  await sleep(SETTLE_MS);
  const before = sampleTree(inst.child.pid).rssBytes;
  const client = registry.spawn(`idle client (${target})`, process.execPath, [script('idle-client-process.js'), String(inst.h1Port), String(count)], join(baseDir, `idle-${target}.log`), {
    manyFiles: true,
    ipc: true,
  });
  try {
    const opened = await Promise.race([
      once(client.process, 'message') as Promise<[IdleReply]>,
      client.exited.then((code) => Promise.reject(new Error(`idle client exited (${code}):\n${client.logTail()}`))),
      sleep(IDLE_OPEN_TIMEOUT_MS).then(() => Promise.reject(new Error(`idle client did not open ${count} connections within ${IDLE_OPEN_TIMEOUT_MS} ms`))),
    ]);
    const m = opened[0];
    if (m.type !== 'open') throw new Error(`idle client said ${JSON.stringify(m)}`);
    await sleep(SETTLE_MS);
    const withIdle = sampleTree(inst.child.pid).rssBytes;
    const closed = once(client.process, 'message') as Promise<[IdleReply]>;
    client.process.send({ type: 'close' });
    const [c] = await closed;
    if (m.failed > 0) log(`idle ${target}: ${m.failed} connections failed, first: ${m.firstError}`);
    return { target, rssBeforeBytes: before, rssWithBytes: withIdle, open: m.open, failed: m.failed, dropped: c.type === 'closed' ? c.dropped : 0, note: null };
  } catch (e) {
    return { target, rssBeforeBytes: before, rssWithBytes: 0, open: 0, failed: 0, dropped: 0, note: `failed: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    await registry.stop(client);
  }
}

await completeBenchRun(run, main);
