/**
 * Hot reload of the whole configuration through the real binary: a changed --config file (or
 * SIGHUP) swaps the balancer, the key, and what else the file says into the running proxy, and the
 * directory on the admin listener follows; a bad file is refused and the old configuration keeps
 * serving; restart-only settings are named; and 100 reloads under a steady keep-alive load lose no
 * request. One thread and --workers 2 alike.
 */
import assert from 'node:assert/strict';
import { writeFile, rename } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import test from 'node:test';
import type { TestContext } from 'node:test';
import { backend, Served, tempDir } from '../cli/run.js';
import type { LogLine } from '../cli/run.js';

const KEYS = Array.from({ length: 120 }, (_, i) => `acct-${i}`);

interface Setup {
  readonly served: Served;
  readonly port: number;
  readonly adminPort: number;
  readonly file: string;
  readonly endpoints: string;
  /** Writes the config file whole (a rename, as editors and ConfigMaps do). */
  write(body: string): Promise<void>;
}

async function start(t: TestContext, body: (endpoints: string) => string, workers = 1): Promise<Setup> {
  const dir = await tempDir(t);
  const pods = await Promise.all(['pod-0', 'pod-1', 'pod-2', 'pod-3'].map((n) => backend(t, n)));
  const endpoints = `endpoints:\n${pods.map((a, i) => `  - {name: pod-${i}, address: "${a}"}`).join('\n')}\n`;
  const file = join(dir, 'shardgate.yaml');
  let n = 0;
  const write = async (text: string): Promise<void> => {
    const tmp = join(dir, `.next-${n++}.yaml`);
    await writeFile(tmp, text);
    await rename(tmp, file);
  };
  await write(`listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nworkers: ${workers}\n${body(endpoints)}`);
  const served = new Served(t, ['serve', '--config', file]);
  const { port } = await served.address();
  const admin = await served.waitFor((l) => l.msg === 'admin listening', 'admin listening');
  const adminPort = Number(/:(\d+)$/.exec(String(admin['address']))![1]);
  // The addresses as first written (port 0): the bound ports would be a change of a restart-only setting.
  return { served, port, adminPort, file, endpoints, write: (text) => write(`listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nworkers: ${workers}\n${text}`) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
test.after(() => agent.destroy());

/** One GET on a kept-alive connection; resolves to the status and the endpoint that answered. */
function get(port: number, headers: Record<string, string>, path = '/'): Promise<{ status: number; endpoint: string | null; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, endpoint: (res.headers['x-shardgate-endpoint'] as string | undefined) ?? null, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

/** The owner the directory names for each key. */
async function directoryOwners(adminPort: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of KEYS) {
    const r = await get(adminPort, {}, `/v1/owner?key=${key}`);
    assert.equal(r.status, 200, r.body);
    out.set(key, (JSON.parse(r.body) as { endpoint: string }).endpoint);
  }
  return out;
}

/** Where the proxy sends each key, read from `header`. */
async function proxyOwners(port: number, header: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of KEYS) {
    const r = await get(port, { [header]: key });
    assert.equal(r.status, 200, r.body);
    out.set(key, r.endpoint!);
  }
  return out;
}

function isOutcome(l: LogLine): boolean {
  return l.msg === 'config reloaded' || String(l.msg).startsWith('config reload refused');
}

/** The outcome of the reload `trigger` starts: the first outcome logged after it. */
async function nextReload(s: Served, trigger: () => unknown): Promise<LogLine> {
  const from = s.lines.length;
  const line = s.waitFor((l) => isOutcome(l) && s.lines.indexOf(l) >= from, 'a reload outcome', 10_000);
  await trigger();
  return line;
}

for (const workers of [1, 2]) {
  test(`reload (workers ${workers}): a new balancer and key header take over on file change and on SIGHUP; the directory follows`, async (t) => {
    const s = await start(t, (eps) => `balancer: {algorithm: ring-hash}\nkey: header:x-a\n${eps}`, workers);
    const before = await proxyOwners(s.port, 'x-a');
    assert.deepEqual(before, await directoryOwners(s.adminPort), 'proxy and directory agree before');

    // File change: maglev, keys read from another header.
    const line = await nextReload(s.served, () => s.write(`balancer: {algorithm: maglev}\nkey: header:x-b\n${s.endpoints}`));
    assert.equal(line.msg, 'config reloaded', JSON.stringify(line));
    assert.equal(line['trigger'], 'file change');
    const after = await proxyOwners(s.port, 'x-b');
    assert.deepEqual(after, await directoryOwners(s.adminPort), 'proxy and directory agree after: both on the new plane');
    const moved = KEYS.filter((k) => before.get(k) !== after.get(k)).length;
    assert.ok(moved > KEYS.length / 4, `ring-hash to maglev moves many keys; moved ${moved} of ${KEYS.length}`);
    // The admin page's status and the metrics read the new plane too.
    const status = JSON.parse((await get(s.adminPort, {}, '/v1/status')).body) as { balancer: { algorithm: string }; key: { source: string }; totals: { requests: number } };
    assert.deepEqual([status.balancer.algorithm, status.key.source], ['maglev', 'header:x-b']);
    assert.ok(status.totals.requests >= KEYS.length, `the new plane counted the requests since the reload: ${status.totals.requests}`);
    const scrape = (await get(s.adminPort, {}, '/metrics')).body;
    assert.match(scrape, /^shardgate_config_reloads_total\{result="ok"\} 1$/m);
    const picks = [...scrape.matchAll(/^shardgate_loadbalanced_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    assert.ok(picks >= KEYS.length, `the metrics read the new plane's picks: ${picks}`);

    // SIGHUP re-reads the file even when it did not change; here it changes back first, unwatched by the test's timing.
    await writeFile(s.file, `listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nworkers: ${workers}\nbalancer: {algorithm: ring-hash}\nkey: header:x-a\n${s.endpoints}`);
    await s.served.waitFor((l) => l.msg === 'config reloaded' && l['trigger'] === 'file change' && l['balancer'] === 'ring-hash', 'the reload back to ring-hash');
    const hup = await nextReload(s.served, () => s.served.child.kill('SIGHUP'));
    assert.equal(hup.msg, 'config reloaded');
    assert.equal(hup['trigger'], 'SIGHUP');
    assert.deepEqual(await proxyOwners(s.port, 'x-a'), before, 'back on ring-hash with x-a, every key at its first owner again');
    const { code } = await s.served.stop();
    assert.equal(code, 0);
  });

  test(`reload (workers ${workers}): a bad file is refused with its path and reason, and the old configuration keeps serving`, async (t) => {
    const s = await start(t, (eps) => `balancer: {algorithm: ring-hash}\nkey: header:x-a\n${eps}`, workers);
    const before = await proxyOwners(s.port, 'x-a');
    const line = await nextReload(s.served, () => s.write(`balancer: {algoritm: maglev}\nkey: header:x-a\n${s.endpoints}`));
    assert.match(String(line.msg), /^config reload refused: .*shardgate\.yaml: balancer\.algoritm: unknown key; did you mean balancer\.algorithm\?/);
    assert.equal(line['path'], s.file);
    assert.match(String(line['reason']), /balancer\.algoritm/);
    assert.deepEqual(await proxyOwners(s.port, 'x-a'), before, 'the old configuration still routes every key');
    // A value the balancer itself refuses is refused the same way.
    const bad = await nextReload(s.served, () => s.write(`balancer: {algorithm: maglev, tableSize: 1000}\nkey: header:x-a\n${s.endpoints}`));
    assert.match(String(bad['reason']), /balancer\.tableSize/);
    assert.deepEqual(await proxyOwners(s.port, 'x-a'), before);
    const { code } = await s.served.stop();
    assert.equal(code, 0);
  });
}

test('reload: a restart-only setting is named in the log and keeps its running value; the rest applies', async (t) => {
  const s = await start(t, (eps) => `balancer: {algorithm: ring-hash}\nkey: header:x-a\nproxy: {maxHeaderCount: 100}\n${eps}`);
  const warned = s.served.waitFor((l) => String(l.msg).includes('take effect only on a restart'), 'the restart-only warning');
  const line = await nextReload(s.served, () => s.write(`balancer: {algorithm: maglev}\nkey: header:x-a\nproxy: {maxHeaderCount: 50, endpointHeader: true}\nlogLevel: debug\n${s.endpoints}`));
  assert.equal(line.msg, 'config reloaded');
  const warning = await warned;
  assert.deepEqual(warning['restartNeeded'], ['proxy.maxHeaderCount']);
  assert.match(String(warning.msg), /proxy\.maxHeaderCount changed/);
  // Still listening where it did, now on maglev.
  assert.equal(line['balancer'], 'maglev');
  assert.equal((await get(s.port, { 'x-a': 'k' })).status, 200);
  // The listen address is restart-only too.
  const named = s.served.waitFor((l) => Array.isArray(l['restartNeeded']) && (l['restartNeeded'] as string[]).includes('listen'), 'listen named');
  await writeFile(s.file, `listen: 127.0.0.1:1\nadmin: 127.0.0.1:0\nworkers: 1\nbalancer: {algorithm: maglev}\nkey: header:x-a\n${s.endpoints}`);
  await named;
  assert.equal((await get(s.port, { 'x-a': 'k' })).status, 200, 'still serving on the old address');
  await s.served.stop();
});

for (const workers of [1, 2]) {
  test(`reload (workers ${workers}): 100 reloads under a steady keep-alive load lose no request`, async (t) => {
    const s = await start(t, (eps) => `balancer: {algorithm: ring-hash}\nkey: header:x-a\n${eps}`, workers);
    const bodies = [
      `balancer: {algorithm: maglev}\nkey: header:x-a\nproxy: {timeouts: {connectMs: 1500}, queue: {max: 64}}\n${s.endpoints}`,
      `balancer: {algorithm: ring-hash, boundedLoad: 1.5}\nkey: header:x-a\nproxy: {retries: {retries: 1}}\n${s.endpoints}`,
      `balancer: {algorithm: p2c}\n${s.endpoints}`,
      `balancer: {algorithm: rendezvous}\nkey: header:x-a\nproxy: {outlier: false}\n${s.endpoints}`,
    ];
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    // Eight clients in a loop on kept-alive connections: bounded, steady load.
    const clients = Array.from({ length: 8 }, async (_, c) => {
      let i = 0;
      while (running) {
        try {
          const r = await get(s.port, { 'x-a': `key-${c}-${i++ % 50}` });
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status}: ${r.body}`);
        } catch (e) {
          failures.push(e instanceof Error ? e.message : String(e));
        }
      }
    });
    const took: number[] = [];
    for (let i = 0; i < 100; i++) {
      const line = await nextReload(s.served, () => s.write(bodies[i % bodies.length]!));
      assert.equal(line.msg, 'config reloaded', JSON.stringify(line));
      took.push(Number(line['tookMs']));
    }
    running = false;
    await Promise.all(clients);
    took.sort((a, b) => a - b);
    t.diagnostic(`workers ${workers}: ${ok} requests during 100 reloads, ${failures.length} failed; reload took p50 ${took[49]} ms, p90 ${took[89]} ms, max ${took[99]} ms`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} requests failed`);
    assert.ok(ok > 100, `the load ran: ${ok} requests`);
    const { code } = await s.served.stop();
    assert.equal(code, 0);
  });
}
