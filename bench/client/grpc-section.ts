/**
 * The gRPC half of bench:client: the shardgate policy beside grpc-js's own round_robin, in the same
 * run, over the same pods. The pods (grpc-js servers of a bytes-only echo service, grpc-echo.ts)
 * run in a child process, so the CPU measured is the client's alone. Three channels:
 * - round_robin over an `ipv4:` target of the pods (the reference);
 * - the shardgate policy, keyless (p2c), over a `shardgate:static/` target of the same pods;
 * - the shardgate policy, keyed (ring-hash on `x-tenant`), over that target.
 * Every call carries the same `x-tenant` metadata (1,000 tenants in turn), whichever channel.
 *
 * Each channel is warmed up, then the channels take turns for a few rounds of a fixed time, each
 * with the same number of calls kept in flight; the table has the medians over the rounds. The
 * keyed channel is checked to keep every tenant on one pod. A second table has the picker's own
 * time and allocation per call beside its data plane's (grpc-pick-probe.ts, in a process of its own).
 *
 * Knobs: BENCH_GRPC_PODS (4), BENCH_GRPC_CONCURRENCY (calls in flight, 32), BENCH_GRPC_SECONDS (per
 * window, 2), BENCH_GRPC_ROUNDS (3).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { registerShardgate } from '../../src/client/grpc/register-shardgate.js';
import { ChildRegistry } from '../common/children.js';
import { integerSetting } from '../common/env.js';
import type { GrpcPodsReady } from './grpc-echo.js';
import { EchoClient } from './grpc-echo.js';
import type { GrpcClientResult, GrpcPickCost, GrpcSample } from './grpc-report.js';
import { grpcTable, pickCostTable } from './grpc-report.js';

const PODS_SCRIPT = fileURLToPath(new URL('./grpc-pods-process.js', import.meta.url));
const PROBE_SCRIPT = fileURLToPath(new URL('./grpc-pick-probe.js', import.meta.url));
const TENANTS = 1_000;
const WARMUP_SECONDS = 1;
const REQUEST = Buffer.from('ping');

export interface GrpcBenchSettings {
  readonly pods: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly rounds: number;
}

export function grpcBenchSettings(env: NodeJS.ProcessEnv): GrpcBenchSettings {
  return {
    pods: integerSetting(env, 'BENCH_GRPC_PODS', 4, 1),
    concurrency: integerSetting(env, 'BENCH_GRPC_CONCURRENCY', 32, 1),
    seconds: integerSetting(env, 'BENCH_GRPC_SECONDS', 2, 1),
    rounds: integerSetting(env, 'BENCH_GRPC_ROUNDS', 3, 1),
  };
}

type Echo = grpc.Client & { Call(request: Buffer, metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, value?: Buffer) => void): grpc.ClientUnaryCall };

interface Channel {
  readonly label: string;
  readonly client: Echo;
}

/** The section: a heading, what was run, and the table. */
export async function grpcSection(settings: GrpcBenchSettings = grpcBenchSettings(process.env)): Promise<string> {
  registerShardgate({ logger: pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true })) });
  const dir = mkdtempSync(join(tmpdir(), 'bench-client-grpc-'));
  const registry = new ChildRegistry();
  const channels: Channel[] = [];
  try {
    const pods = registry.spawn('grpc pods', process.execPath, [PODS_SCRIPT, String(settings.pods)], join(dir, 'grpc-pods.log'), { ipc: true });
    const [ready] = (await Promise.race([once(pods.process, 'message'), pods.exited.then((code) => Promise.reject(new Error(`the gRPC pods exited (${code}): ${pods.logTail()}`)))])) as [GrpcPodsReady];
    const addresses = ready.ports.map((port) => `127.0.0.1:${port}`);
    const shardgateTarget = `shardgate:static/${addresses.map((a, i) => `pod-${i}=${a}`).join(',')}`;
    const open = (label: string, target: string, policy: object): Channel => {
      const options = { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [policy] }) };
      const channel = { label, client: new EchoClient(target, grpc.credentials.createInsecure(), options) as unknown as Echo };
      channels.push(channel);
      return channel;
    };
    open('grpc-js round_robin', `ipv4:${addresses.join(',')}`, { round_robin: {} });
    open('shardgate, keyless (p2c)', shardgateTarget, { shardgate: {} });
    const keyed = open('shardgate, keyed (ring-hash)', shardgateTarget, { shardgate: { key: 'x-tenant', balancer: 'ring-hash' } });
    const metadata = Array.from({ length: TENANTS }, (_, i) => {
      const md = new grpc.Metadata();
      md.set('x-tenant', `tenant-${i}`);
      return md;
    });

    for (const c of channels) await run(c.client, metadata, settings.concurrency, WARMUP_SECONDS);
    await checkOwners(keyed.client, metadata);
    const samples = new Map<Channel, GrpcSample[]>(channels.map((c) => [c, []]));
    for (let round = 0; round < settings.rounds; round++) {
      for (const c of channels) {
        const sample = await run(c.client, metadata, settings.concurrency, settings.seconds);
        samples.get(c)!.push(sample);
        process.stderr.write(`grpc round ${round + 1}/${settings.rounds} ${c.label}: ${(sample.calls / sample.seconds).toFixed(0)} calls/s, ${(sample.cpuMicros / sample.calls).toFixed(1)} µs/call\n`);
      }
    }
    const results: GrpcClientResult[] = channels.map((c) => ({ label: c.label, samples: samples.get(c)! }));
    const costs = await pickCosts();
    return [
      '## gRPC client: the shardgate policy beside grpc-js round_robin',
      '',
      `@grpc/grpc-js ${grpcVersion()}, ${settings.pods} pods in another process, ${settings.concurrency} unary calls in flight, every call with x-tenant metadata; medians of ${settings.rounds} rounds of ${settings.seconds} s per client, taking turns. CPU is the client process's, user + system.`,
      '',
      grpcTable(results),
      '',
      `The picker alone (grpc-pick-probe.ts: pick, onCallStarted, onCallEnded, over 4 READY subchannels, least of 3 runs of 200,000 calls), beside its data plane's own work for a request as the proxy does it (key, pick, done, observe):`,
      '',
      pickCostTable(costs),
    ].join('\n');
  } finally {
    for (const c of channels) c.client.close();
    await registry.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The probe's costs, measured in a process with a large young generation and gc() (grpc-pick-probe.ts). */
async function pickCosts(): Promise<GrpcPickCost[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--max-semi-space-size=64', PROBE_SCRIPT], { timeout: 120_000 });
  return JSON.parse(stdout) as GrpcPickCost[];
}

/** Keeps `concurrency` calls in flight for `seconds`; counts calls and the process's CPU. */
async function run(client: Echo, metadata: readonly grpc.Metadata[], concurrency: number, seconds: number): Promise<GrpcSample> {
  const end = performance.now() + seconds * 1_000;
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const worker = async (first: number): Promise<void> => {
    for (let i = first; performance.now() < end; i += concurrency) {
      await call(client, metadata[i % metadata.length]!);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  const elapsed = (performance.now() - started) / 1_000;
  const used = process.cpuUsage(cpu);
  return { calls, seconds: elapsed, cpuMicros: used.user + used.system };
}

function call(client: Echo, metadata: grpc.Metadata): Promise<Buffer> {
  return new Promise((resolve, reject) => client.Call(REQUEST, metadata, (err, value) => (err ? reject(err) : resolve(value!))));
}

/** Every tenant's calls reach one pod: the keyed channel does route by key. */
async function checkOwners(client: Echo, metadata: readonly grpc.Metadata[]): Promise<void> {
  const owners = new Map<string, string>();
  for (let pass = 0; pass < 2; pass++) {
    const answers = await Promise.all(metadata.map((md) => call(client, md)));
    answers.forEach((pod, i) => {
      const tenant = String(metadata[i]!.get('x-tenant')[0]);
      const before = owners.get(tenant);
      if (before !== undefined && before !== pod.toString()) throw new Error(`${tenant} reached ${before} and then ${pod.toString()}: the keyed channel does not keep a key on its owner`);
      owners.set(tenant, pod.toString());
    });
  }
}

function grpcVersion(): string {
  return (createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string }).version;
}
