/**
 * Worker threads end to end: real threads sharing one listening socket on 127.0.0.1, real pods,
 * keep-alive clients. Round robin is exact over the whole process, bounded loads bound what the
 * pods see from all threads together, new endpoint sets reach every thread, and stop is graceful.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Client } from 'undici';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { FIRST_SLOT } from '../../src/balancer/shared-loads.js';
import type { ShardgateConfig } from '../../src/config/config.js';
import { parseConfig } from '../../src/config/config.js';
import { startWorkers } from '../../src/cluster/workers.js';
import type { WorkerPool } from '../../src/cluster/workers.js';
import { ConfigError, ShardgateError } from '../../src/errors.js';
import type { Backend, BackendHandler } from '../helpers/backends.js';
import { closeBackends, endpointSpecs, nameHandler, startBackends } from '../helpers/backends.js';
import { send, waitFor } from '../proxy/harness.js';

const silent = pino({ level: 'silent' });

/** A parsed config as the command line makes it; `balancer` in the config file's shape. */
function configFor(balancer: Record<string, unknown>, endpoints: string | readonly EndpointSpec[], key: string | null = null): ShardgateConfig {
  return parseConfig({
    listen: '127.0.0.1:0',
    balancer,
    ...(typeof endpoints === 'string' ? { endpointsFile: endpoints } : { endpoints }),
    ...(key === null ? {} : { key }),
    logLevel: 'silent',
  });
}

/**
 * Keep-alive connections to the pool, at least `min` and a multiple of `multipleOf`, until both
 * workers have accepted some: the kernel picks which thread accepts, so more are opened while one
 * thread has none. Each has sent one request.
 */
async function connectionsOnEveryWorker(pool: WorkerPool, min: number, multipleOf = 1): Promise<Client[]> {
  const clients: Client[] = [];
  const origin = `http://127.0.0.1:${pool.address.port}`;
  while (clients.length < 200) {
    const client = new Client(origin, { pipelining: 1 });
    clients.push(client);
    assert.equal((await send(client, '/')).status, 200);
    if (clients.length >= min && clients.length % multipleOf === 0 && (await pool.requests()).every((r) => r > 0)) return clients;
  }
  assert.fail('200 connections all went to one worker thread');
}

/**
 * Every client sends `each` requests in a row, all clients at once; every backend must get exactly
 * its equal share of them. Returns how many were sent.
 */
async function assertEqualShares(clients: readonly Client[], backends: readonly Backend[], each: number): Promise<number> {
  for (const b of backends) b.requests = 0;
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < each; i++) assert.equal((await send(c, '/')).status, 200);
    }),
  );
  const total = each * clients.length;
  assert.deepEqual(
    backends.map((b) => b.requests),
    backends.map(() => total / backends.length),
  );
  return total;
}

test('round robin over two worker threads, keep-alive clients: every pod gets exactly its share of the process\'s requests', async (t) => {
  const backends = await startBackends(4);
  const pool = await startWorkers(configFor({ algorithm: 'round-robin' }, endpointSpecs(backends)), { workers: 2, logger: silent });
  const clients: Client[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await pool.stop();
    await closeBackends(backends);
  });
  clients.push(...(await connectionsOnEveryWorker(pool, 8, 4)));
  const before = await pool.requests();
  // 41 each: a multiple of 4 for the process, but rarely for one thread (41 x its connections),
  // whose own rotation alone would leave a remainder.
  const total = await assertEqualShares(clients, backends, 41);
  const after = await pool.requests();
  const served = after.map((r, i) => r - before[i]!);
  assert.ok(served.every((r) => r > 0), `both threads picked: ${served.join(', ')}`);
  assert.equal(served[0]! + served[1]!, total);
});

/** Pods that hold requests while `holding` is on and record the most they held at once. */
class HoldingPods {
  holding = false;
  readonly now = new Map<string, number>();
  readonly peak = new Map<string, number>();
  #release: (() => void)[] = [];

  readonly handler: BackendHandler = (req, res, backend) => {
    if (!this.holding) {
      nameHandler(req, res, backend);
      return;
    }
    const n = (this.now.get(backend.name) ?? 0) + 1;
    this.now.set(backend.name, n);
    if (n > (this.peak.get(backend.name) ?? 0)) this.peak.set(backend.name, n);
    this.#release.push(() => {
      this.now.set(backend.name, this.now.get(backend.name)! - 1);
      nameHandler(req, res, backend);
    });
  };

  get held(): number {
    return this.#release.length;
  }

  release(): void {
    for (const r of this.#release.splice(0)) r();
  }
}

test('a hot key with bounded loads over two worker threads: no pod ever holds more than ceil(c x average) of the whole process', async (t) => {
  const pods = new HoldingPods();
  const backends = await startBackends(4, 'pod', pods.handler);
  const config = configFor({ algorithm: 'ring-hash', boundedLoad: 1.25 }, endpointSpecs(backends), 'header:x-affinity');
  const pool = await startWorkers(config, { workers: 2, logger: silent });
  const clients: Client[] = [];
  t.after(async () => {
    pods.release();
    await Promise.all(clients.map((c) => c.close()));
    await pool.stop();
    await closeBackends(backends);
  });
  // Warm-up requests carry no key: the keyless fallback spreads them.
  clients.push(...(await connectionsOnEveryWorker(pool, 16)));
  const concurrent = clients.length;
  // ceil(1.25 x concurrent / 4): what a pod may hold with every client's request in flight.
  const bound = Math.ceil((1.25 * concurrent) / 4);
  for (let round = 0; round < 3; round++) {
    // The last round's requests have all ended at the proxy, so no stale count inflates the average.
    await waitFor(() => pool.loads.totalInflight === 0, 'the shared counts to drain');
    pods.holding = true;
    const replies = clients.map((c) => send(c, '/', { headers: { 'x-affinity': 'account-hot' } }));
    await waitFor(() => pods.held === concurrent, `all ${concurrent} hot requests at the pods`);
    const peaks = backends.map((b) => pods.peak.get(b.name) ?? 0);
    assert.ok(Math.max(...peaks) <= bound, `round ${round}: peaks ${peaks.join(', ')} with ${concurrent} in flight, bound ${bound}`);
    // The key spilled: its owner was full at the bound, the process-wide one.
    assert.equal(Math.max(...peaks), bound, `round ${round}: peaks ${peaks.join(', ')}`);
    pods.holding = false;
    pods.release();
    for (const r of await Promise.all(replies)) assert.equal(r.status, 200);
  }
  await waitFor(() => pool.loads.totalInflight === 0, 'the shared counts to drain');
  for (let i = 0; i < 4; i++) assert.equal(pool.loads.inflightAt(FIRST_SLOT + i), 0);
});

test('a new endpoints file reaches every worker thread: round robin stays exact over the new set', async (t) => {
  const backends = await startBackends(3);
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-workers-'));
  const file = join(dir, 'endpoints.yaml');
  const yaml = (list: readonly Backend[]): string => list.map((b) => `- { name: ${b.name}, address: "${b.address}" }\n`).join('');
  await writeFile(file, yaml(backends.slice(0, 2)));
  const pool = await startWorkers(configFor({ algorithm: 'round-robin' }, file), { workers: 2, logger: silent });
  const clients: Client[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await pool.stop();
    await closeBackends(backends);
    await rm(dir, { recursive: true, force: true });
  });
  clients.push(...(await connectionsOnEveryWorker(pool, 6)));
  assert.equal(backends[2]!.requests, 0);
  await writeFile(file, yaml(backends));
  await pool.refresh();
  // A thread's messages arrive in order: once both have answered a report, both route with the new set.
  await pool.requests();
  await assertEqualShares(clients, backends, 30);
});

test('stop is graceful: a request in flight finishes, then the socket refuses new connections and every count has drained', async (t) => {
  const pods = new HoldingPods();
  const backends = await startBackends(2, 'pod', pods.handler);
  const pool = await startWorkers(configFor({ algorithm: 'p2c' }, endpointSpecs(backends)), { workers: 2, logger: silent });
  const client = new Client(`http://127.0.0.1:${pool.address.port}`, { pipelining: 1 });
  t.after(async () => {
    pods.release();
    await client.close();
    await pool.stop();
    await closeBackends(backends);
  });
  pods.holding = true;
  const reply = send(client, '/');
  await waitFor(() => pods.held === 1, 'the request at a pod');
  const stopped = pool.stop();
  // Every thread stops accepting at once; the request under way is let finish.
  await waitFor(() => pool.loads.totalInflight === 1, 'still in flight');
  pods.release();
  const r = await reply;
  assert.equal(r.status, 200);
  assert.equal(await stopped, true, 'every thread ended within the grace period');
  assert.equal(pool.loads.totalInflight, 0);
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(pool.address.port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  assert.equal(refused, 'ECONNREFUSED');
});

test('startWorkers refuses a bad worker count and an address in use, naming them', async () => {
  const backends = await startBackends(1);
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const config = configFor({ algorithm: 'p2c' }, endpointSpecs(backends));
    for (const bad of [0, 1.5, -2, 100_000]) {
      await assert.rejects(startWorkers(config, { workers: bad, logger: silent }), (e: unknown) => e instanceof ConfigError && e.field === 'workers' && e.message.includes(String(bad)));
    }
    const port = (taken.address() as net.AddressInfo).port;
    await assert.rejects(startWorkers({ ...config, listen: { host: '127.0.0.1', port } }, { workers: 2, logger: silent }), (e: unknown) => e instanceof ShardgateError && e.code === 'SG_ERR_LISTEN' && e.message.includes('EADDRINUSE') && e.message.includes(`127.0.0.1:${port}`));
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    await closeBackends(backends);
  }
});

test('runWorkers runs until SIGTERM: "listening" names the address once the workers route, and the stop is graceful, exit code 0', async (t) => {
  const backends = await startBackends(2);
  const document = { listen: '127.0.0.1:0', balancer: { algorithm: 'round-robin' }, endpoints: endpointSpecs(backends) };
  const child = spawn(process.execPath, [fileURLToPath(new URL('./run-workers.js', import.meta.url)), JSON.stringify({ document, workers: 2 })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(async () => {
    child.kill('SIGKILL');
    await closeBackends(backends);
  });
  const lines: { msg?: string; address?: string; signal?: string }[] = [];
  child.stdout.setEncoding('utf8');
  let rest = '';
  child.stdout.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p.trim() !== '') lines.push(JSON.parse(p) as (typeof lines)[number]);
  });
  await waitFor(() => lines.some((l) => l.msg === 'listening'), 'the listening line', 15_000);
  const address = lines.find((l) => l.msg === 'listening')!.address!;
  const client = new Client(`http://${address}`);
  try {
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add((await send(client, '/')).text);
    assert.deepEqual([...names].sort(), ['pod-0', 'pod-1']);
  } finally {
    await client.close();
  }
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.ok(lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'));
  assert.equal(lines.at(-1)?.msg, 'stopped');
});
