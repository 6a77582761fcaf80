import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { join } from 'node:path';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/balancer/factory.js';
import { SERVE_FLAGS } from '../../src/cli/flags.js';
import { closedPort } from '../helpers/backends.js';
import { backend, get, runToEnd, ROOT, Served, tempDir } from './run.js';

const STACK_FRAME = /^\s+at /m;

test('cli: --help lists the commands and every balancer', async () => {
  const r = await runToEnd(['--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const word of ['serve', 'demo', ...ALGORITHMS, 'header:NAME', 'cookie:NAME', 'query:NAME', 'path:INDEX', '--zone NAME', '--subset HEADER=LABEL', '--subset-fallback']) {
    assert.ok(r.stdout.includes(word), `--help mentions ${word}`);
  }
});

test('cli: serve --help lists every flag, with defaults', async () => {
  const r = await runToEnd(['serve', '--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const spec of SERVE_FLAGS) assert.ok(r.stdout.includes(spec.syntax), `serve --help lists ${spec.syntax}`);
  assert.ok(r.stdout.includes('--config <file>'));
  assert.match(r.stdout, /--listen <host:port>[\s\S]*\(default: "0\.0\.0\.0:8080"\)/);
  assert.match(r.stdout, /\(default: "p2c"\)/);
  for (const name of ALGORITHMS) assert.ok(r.stdout.includes(name), `serve --help names ${name}`);
});

test('cli: an unknown balancer is refused naming the flag, the value and the choices; exit 2', async () => {
  const r = await runToEnd(['serve', '--endpoints', 'pod-0=127.0.0.1:9000', '--balancer', 'consistent', '--key', 'header:x']);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes('--balancer'), r.stderr);
  assert.ok(r.stderr.includes('"consistent"'), r.stderr);
  assert.ok(r.stderr.includes(ALGORITHMS.join(', ')), r.stderr);
  assert.doesNotMatch(r.stderr, STACK_FRAME);
  assert.equal(r.stdout, '');
});

test('cli: a bounded-load factor of 1 or less is refused naming --bounded-load; exit 2', async () => {
  const r = await runToEnd(['serve', '--endpoints', 'pod-0=127.0.0.1:9000', '--balancer', 'ring-hash', '--bounded-load', '0.9', '--key', 'header:x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--bounded-load \(balancer\.boundedLoad\): is 0\.9: .*above 1/);
  assert.doesNotMatch(r.stderr, STACK_FRAME);
});

test('cli: a malformed --endpoints entry and an unknown flag exit 2', async () => {
  const bad = await runToEnd(['serve', '--endpoints', '127.0.0.1:9000']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--endpoints \(endpoints\[0\]\): is "127\.0\.0\.1:9000": write NAME=HOST:PORT/);
  const unknown = await runToEnd(['serve', '--endpoints', 'a=127.0.0.1:1', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--bogus'/);
  assert.doesNotMatch(unknown.stderr + bad.stderr, STACK_FRAME);
});

test('cli: demo --port and --admin-port take a port from 0 to 65535; another value exits 2 naming the flag', async () => {
  const port = await runToEnd(['demo', '--serve', '--port', '8o80']);
  assert.equal(port.code, 2);
  assert.equal(port.stderr, 'error: --port: is "8o80": give a port from 0 to 65535 (0: any free port)\n');
  const admin = await runToEnd(['demo', '--serve', '--admin-port', '65536']);
  assert.equal(admin.code, 2);
  assert.match(admin.stderr, /^error: --admin-port: is "65536"/);
  assert.equal(port.stdout + admin.stdout, '', 'refused before the demo starts');
});

test('cli: serve routes by key to real backends, and exits 0 on SIGTERM', async (t) => {
  const pod0 = await backend(t, 'pod-0');
  const pod1 = await backend(t, 'pod-1');
  // The documented form, with port 0 so that the test never collides with anything.
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--endpoints', `pod-0=${pod0},pod-1=${pod1}`, '--balancer', 'ring-hash', '--bounded-load', '1.25', '--key', 'header:x-affinity']);
  const { host, port } = await served.address();
  assert.equal(host, '127.0.0.1');
  assert.ok(port > 0);

  const owners = new Map<string, string>();
  for (let i = 0; i < 20; i++) {
    const key = `account-${i}`;
    for (let round = 0; round < 3; round++) {
      const r = await get(port, { 'x-affinity': key });
      assert.equal(r.status, 200);
      assert.equal(r.endpoint, r.body, 'the header names the backend that answered');
      const owner = owners.get(key);
      if (owner === undefined) owners.set(key, r.body);
      else assert.equal(r.body, owner, `${key} stays on ${owner}`);
    }
  }
  assert.deepEqual([...new Set(owners.values())].sort(), ['pod-0', 'pod-1'], 'keys are spread over both backends');

  const exit = await served.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, served.stderr);
  assert.ok(served.lines.some((l) => l.msg === 'shutting down'));
});

test('cli: serve --config with a watched endpoints file; flags override the file; a change is routed to', async (t) => {
  const dir = await tempDir(t);
  const pod0 = await backend(t, 'pod-0');
  const pod1 = await backend(t, 'pod-1');
  const endpointsFile = join(dir, 'endpoints.yaml');
  await writeFile(endpointsFile, `- {name: pod-0, address: "${pod0}"}\n`);
  const config = join(dir, 'shardgate.yaml');
  await writeFile(config, ['listen: 127.0.0.1:1', 'balancer:', '  algorithm: round-robin', 'endpointsFile: endpoints.yaml', 'proxy:', '  endpointHeader: true', ''].join('\n'));

  const served = new Served(t, ['serve', '--config', config, '--listen', '127.0.0.1:0', '--no-endpoint-header']);
  const { port } = await served.address();
  const before = await get(port);
  assert.equal(before.body, 'pod-0');
  assert.equal(before.endpoint, undefined, '--no-endpoint-header overrides the file');

  const tmp = join(dir, 'endpoints.yaml.new');
  await writeFile(tmp, `- {name: pod-0, address: "${pod0}"}\n- {name: pod-1, address: "${pod1}"}\n`);
  await rename(tmp, endpointsFile);
  await served.waitFor((l) => l.msg === 'endpoints' && l.version === 2, 'second "endpoints"');
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add((await get(port)).body);
  assert.deepEqual([...seen].sort(), ['pod-0', 'pod-1']);

  // A broken save is reported and changes nothing.
  await writeFile(tmp, `- {name: pod-0, address: "${pod0}"}\n- {name: pod-1, address: "nowhere"}\n`);
  await rename(tmp, endpointsFile);
  const warning = await served.waitFor((l) => l.field === 'endpoints[1].address', 'endpoints file warning');
  assert.match(String(warning.msg), /endpoints\[1\]\.address: is "nowhere"/);
  assert.equal((await get(port)).status, 200);

  // SIGHUP re-reads the file now; it does not end the process (Node's default would).
  served.child.kill('SIGHUP');
  await served.waitFor((l) => l.msg === 'SIGHUP: re-reading the endpoints file', 'SIGHUP log line');
  assert.equal((await get(port)).status, 200);

  assert.equal((await served.stop()).code, 0);
});

test('cli: serve refuses to start on a broken endpoints file, naming file, field and value; exit 2', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'endpoints.yaml');
  await writeFile(file, '- {name: pod-0, address: "127.0.0.1:9000", weight: -1}\n');
  const r = await runToEnd(['serve', '--listen', '127.0.0.1:0', '--endpoints-file', file]);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(`${file}: endpoints[0].weight: is -1`), r.stderr);
  assert.doesNotMatch(r.stderr, STACK_FRAME);
});

test('cli: serve that cannot bind its address exits 1 with the reason', async (t) => {
  const taken = await backend(t, 'squatter');
  const r = await runToEnd(['serve', '--listen', taken, '--endpoints', `pod-0=${taken}`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
  assert.doesNotMatch(r.stderr, STACK_FRAME);
});

test('cli: serve over TLS speaks h2 and HTTP/1.1 by ALPN, retries a dead endpoint and ejects it', async (t) => {
  const pod0 = await backend(t, 'pod-0');
  const dead = await closedPort();
  const cert = join(ROOT, 'test', 'fixtures', 'tls', 'cert.pem');
  const key = join(ROOT, 'test', 'fixtures', 'tls', 'key.pem');
  const served = new Served(t, [
    'serve', '--listen', '127.0.0.1:0', '--endpoints', `pod-0=${pod0},pod-9=127.0.0.1:${dead}`, '--balancer', 'round-robin',
    '--tls-cert', cert, '--tls-key', key, '--retries', '1', '--outlier-consecutive-5xx', '2', '--max-streams', '50',
  ]);
  const { port } = await served.address();
  const ca = await readFile(cert);
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
  t.after(() => session.close());
  const bodies: string[] = [];
  for (let i = 0; i < 6; i++) {
    bodies.push(
      await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        let text = '';
        stream.on('data', (c: Buffer) => (text += c.toString()));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
      }),
    );
  }
  assert.deepEqual(bodies, Array(6).fill('pod-0'), 'every request reached the live pod, retried when it was sent to the dead one');
  assert.equal(session.alpnProtocol, 'h2');
  assert.equal(session.remoteSettings.maxConcurrentStreams, 50);
  await served.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('pod-9') && l.msg.includes('ejected'), 'pod-9 ejected');
  const exit = await served.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, served.stderr);
});

test('cli: --tls-cert without --tls-key is refused naming the field; exit 2', async () => {
  const r = await runToEnd(['serve', '--endpoints', 'pod-0=127.0.0.1:9', '--tls-cert', 'x.pem']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /proxy\.tls\.key/);
});

test('cli: a --tls-cert, --tls-key or --upstream-ca that is not what it must be is refused naming the flag, the file and what it must hold; exit 2', async (t) => {
  const dir = await tempDir(t);
  const text = join(dir, 'text.txt');
  await writeFile(text, 'hello\n');
  const other = join(dir, 'other-key.pem');
  await writeFile(other, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const cert = join(ROOT, 'test', 'fixtures', 'tls', 'cert.pem');
  const key = join(ROOT, 'test', 'fixtures', 'tls', 'key.pem');
  const cases: [string[], RegExp][] = [
    [['--tls-cert', text, '--tls-key', key], /^error: --tls-cert \(proxy\.tls\.cert\): \S+text\.txt is not a PEM certificate: it holds no "-----BEGIN CERTIFICATE-----" block; /],
    [['--tls-cert', cert, '--tls-key', text], /^error: --tls-key \(proxy\.tls\.key\): \S+text\.txt is not a PEM private key: /],
    [['--tls-cert', cert, '--tls-key', other], /^error: --tls-key \(proxy\.tls\.key\): \S+other-key\.pem does not match the certificate in \S+cert\.pem \(proxy\.tls\.cert\)/],
    [['--upstream-ca', key], /^error: --upstream-ca \(proxy\.upstreamTls\.ca\): \S+key\.pem is not a PEM certificate: /],
  ];
  for (const [flags, expected] of cases) {
    for (const workers of ['1', '2']) {
      const r = await runToEnd(['serve', '--listen', '127.0.0.1:0', '--workers', workers, '--endpoints', 'pod-0=127.0.0.1:9', ...flags]);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
    }
  }
});
