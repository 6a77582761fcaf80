/**
 * bench:client: what routing in the client costs. Each section returns a Markdown table; the
 * report prints them in order with the versions and settings of the run.
 *
 * 1. HTTP: the dispatcher (createShardDispatcher) beside a plain undici Pool to one origin, in the
 *    same run against the same pods: requests per second and CPU microseconds per request
 *    (bench/client/http-section.ts). Goal: within 1.2x the Pool's CPU per request.
 * 2. gRPC: the shardgate policy (keyless and keyed) beside grpc-js's round_robin over the same pods
 *    (bench/client/grpc-section.ts); `node dist/bench/client-grpc.js` runs it alone.
 *
 * Run with `npm run bench:client` (it builds first). Knobs: see bench/client/settings.ts.
 */
import { cpus } from 'node:os';
import { completeBenchRun, startBenchRun } from './common/bench-run.js';
import type { BenchRun } from './common/bench-run.js';
import { httpSection } from './client/http-section.js';
import type { ClientBenchSettings } from './client/settings.js';
import { readClientSettings } from './client/settings.js';
import { grpcSection } from './client/grpc-section.js';

interface Section {
  readonly title: string;
  readonly run: (run: BenchRun, settings: ClientBenchSettings) => Promise<string>;
}

const SECTIONS: readonly Section[] = [
  { title: 'HTTP: the dispatcher beside a plain undici Pool', run: httpSection },
  { title: 'gRPC: the shardgate policy beside round_robin', run: () => grpcSection() },
];

const settings = readClientSettings(process.env);
const run = startBenchRun('bench:client');

async function main(): Promise<void> {
  const out: string[] = [
    '# bench:client',
    '',
    `node ${process.version} (undici ${process.versions.undici} bundled), ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
    `BENCH_DURATION=${settings.durationS} BENCH_ROUNDS=${settings.rounds} BENCH_CONCURRENCY=${settings.concurrency}`,
  ];
  for (const section of SECTIONS) {
    run.log(`== ${section.title}`);
    const table = await section.run(run, settings);
    // A section that heads itself (the gRPC one, which also runs alone) keeps its own heading.
    out.push('', ...(table.startsWith('## ') ? [] : [`## ${section.title}`, '']), table);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

await completeBenchRun(run, main);
