/**
 * `shardgate demo`: the talk "L7 load balancing without a service mesh" replayed on loopback with
 * real servers. Four pods, then five scenes: a keep-alive client pinned to one pod by a
 * connection-level balancer; the same client spread by shardgate's per-request round robin;
 * account affinity with ring hash and bounded loads; a hot account spilling within its bound; a pod
 * leaving, ring hash against `hash % N`. Every number printed is measured by the pods or the client.
 *
 * Randomness (the iptables rules, round robin's start, pod delays) comes from one seed, printed so a
 * run can be repeated. Every server is closed before the promise settles, on success or failure.
 */
import { performance } from 'node:perf_hooks';
import { entropyRng, seededRng } from '../balancer/rng.js';
import { showConnectionBalancing } from './connection-balancing.js';
import { defaultDemoDir } from './demo-files.js';
import { KEY_HEADER } from './demo-proxy.js';
import { showHotKey } from './hot-key.js';
import { showKeyAffinity } from './key-affinity.js';
import { showPodLeaves } from './pod-leaves.js';
import { PodFleet } from './pods.js';
import { Report } from './report.js';
import { showRequestBalancing } from './request-balancing.js';
import { serveUntilStopped } from './serve.js';

export interface DemoOptions {
  /** Keep the pods running behind a proxy and the directory after the scenes, until SIGINT or SIGTERM. */
  readonly serve: boolean;
  readonly out: NodeJS.WritableStream;
  /** Seeds every random choice; a fresh one (printed) when absent. */
  readonly seed?: number;
  /** Port `serve`'s proxy tries first; 8080 when absent, an ephemeral one when taken. */
  readonly port?: number;
  /** Port `serve`'s admin listener (directory, probes) tries first; 9901 when absent, an ephemeral one when taken. */
  readonly adminPort?: number;
  /** Where `serve` writes its endpoints file and demo.json; defaultDemoDir() when absent. */
  readonly dir?: string;
  /** Ends `serve` as SIGINT does. */
  readonly signal?: AbortSignal;
}

const PODS = 4;
const LOAD_FACTOR = 1.25;
const SERVE_PORT = 8080;
const ADMIN_PORT = 9901;

export async function runDemo(options: DemoOptions): Promise<void> {
  const seed = options.seed ?? entropyRng().nextUint32();
  const report = new Report(options.out);
  const started = performance.now();
  const fleet = await PodFleet.start(PODS, { keyHeader: KEY_HEADER, rng: seededRng(seed + 3) });
  try {
    report.banner('shardgate demo: L7 load balancing and key affinity, on loopback');
    report.raw('\n');
    report.say(
      `${PODS} pods, each a real HTTP server answering {"pod":...,"request_count":N} (seed ${seed}):`,
      fleet.pods.map((p) => `${p.name} ${p.address}`).join(', '),
    );
    const { keepAlive } = await showConnectionBalancing(fleet, report, seededRng(seed), 100);
    await showRequestBalancing(fleet, report, seed + 1, 100, keepAlive);
    await showKeyAffinity(fleet, report, seed + 2, { accounts: 1000, requestsPerAccount: 3, loadFactor: LOAD_FACTOR });
    await showHotKey(fleet, report, seed + 2, {
      key: 'account-42',
      requests: 400,
      concurrency: 40,
      loadFactor: LOAD_FACTOR,
      delay: { minMs: 20, maxMs: 50 },
    });
    await showPodLeaves(fleet, report, seed + 2, { accounts: 1000, leaving: 'pod-1', loadFactor: LOAD_FACTOR });
    report.raw(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.\n`);
    if (options.serve) {
      await serveUntilStopped(fleet, report, {
        port: options.port ?? SERVE_PORT,
        adminPort: options.adminPort ?? ADMIN_PORT,
        dir: options.dir ?? defaultDemoDir(),
        loadFactor: LOAD_FACTOR,
        seed: seed + 2,
        signal: options.signal,
      });
    }
  } finally {
    await fleet.close();
  }
}
