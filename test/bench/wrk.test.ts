import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { keyedScript, parseWrkOutput, reportScript, wrkArgs } from '../../bench/proxy/wrk.js';

/** wrk 4.1.0's output with the report script, captured on loopback. */
const SAMPLE = `Running 1s test @ http://127.0.0.1:18081/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   557.73us    1.09ms  10.52ms   90.07%
    Req/Sec    18.73k    11.25k   42.90k    70.00%
  18596 requests in 1.01s, 2.20MB read
Requests/sec:  18365.93
Transfer/sec:      2.17MB
WRK_RESULT {"requests":18596,"duration_us":1012527,"p50_us":149,"p99_us":5854,"connect":0,"read":0,"write":0,"status":0,"timeout":0}
`;

test('parseWrkOutput: reads the WRK_RESULT line, not the human summary', () => {
  assert.deepEqual(parseWrkOutput(SAMPLE), { requests: 18596, durationS: 1.012527, p50Us: 149, p99Us: 5854, errors: 0 });
});

test('parseWrkOutput: answers other than 2xx/3xx are errors, not requests', () => {
  const text = SAMPLE.replace('"status":0,"timeout":0', '"status":96,"timeout":4').replace('"read":0', '"read":2');
  const r = parseWrkOutput(text);
  assert.equal(r.requests, 18500);
  assert.equal(r.errors, 102);
});

test('parseWrkOutput: output without the result line is an error quoting the output', () => {
  assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'), /no WRK_RESULT line[\s\S]*Connection refused/);
});

test('parseWrkOutput: a field that is not a number is an error naming it', () => {
  assert.throws(() => parseWrkOutput(SAMPLE.replace('"p99_us":5854', '"p99_us":null')), /p99_us is null/);
});

test('wrkArgs: threads, connections, duration, script, headers, then the URL', () => {
  assert.deepEqual(wrkArgs({ url: 'http://127.0.0.1:1/', connections: 64, threads: 1, durationS: 10, scriptPath: '/t/r.lua', headers: ['x-key: hot'] }), [
    '-t1',
    '-c64',
    '-d10s',
    '--timeout',
    '10s',
    '-s',
    '/t/r.lua',
    '-H',
    'x-key: hot',
    'http://127.0.0.1:1/',
  ]);
});

test('keyedScript: refuses a header name that would break the Lua string', () => {
  assert.throws(() => keyedScript('x"key', 10), /key header/);
});

const hasWrk = spawnSync('wrk', ['-v']).error === undefined;

test('the scripts run in the real wrk: every request carries one of the keys, and the result parses', { skip: !hasWrk && 'wrk is not installed' }, async (t) => {
  const keys = new Set<string>();
  let received = 0;
  const server = http.createServer((req, res) => {
    received++;
    const k = req.headers['x-key'];
    if (typeof k === 'string') keys.add(k);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'wrk-test-'));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = (server.address() as AddressInfo).port;
  const keyed = join(dir, 'keyed.lua');
  const report = join(dir, 'report.lua');
  writeFileSync(keyed, keyedScript('x-key', 5));
  writeFileSync(report, reportScript());
  // Asynchronous: the server answering wrk runs in this process.
  const run = async (script: string): Promise<string> =>
    (await promisify(execFile)('wrk', wrkArgs({ url: `http://127.0.0.1:${port}/`, connections: 2, threads: 1, durationS: 1, scriptPath: script }))).stdout;
  const r = parseWrkOutput(await run(keyed));
  assert.ok(r.requests > 0, 'wrk completed no request');
  assert.ok(received >= r.requests, `server saw ${received}, wrk counted ${r.requests}`);
  assert.deepEqual([...keys].sort(), ['account-0', 'account-1', 'account-2', 'account-3', 'account-4']);
  keys.clear();
  const plain = parseWrkOutput(await run(report));
  assert.ok(plain.requests > 0 && plain.p50Us > 0 && plain.p99Us >= plain.p50Us, JSON.stringify(plain));
  assert.equal(keys.size, 0, 'the report script sends no key');
});
