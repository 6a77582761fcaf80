/**
 * `shardgate check` and `serve --check` through the real binary: every error by its path (exit 2),
 * the resolved configuration as YAML (exit 0), warnings on stderr that do not fail the check.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config/config.js';
import { ROOT, runToEnd, tempDir } from './run.js';

const GOOD = `listen: 127.0.0.1:8080
workers: 1
key: header:x-k
balancer: {algorithm: ordinal}
endpoints:
  - {name: shard-0, address: "127.0.0.1:9000", zone: eu-a}
  - {name: shard-1, address: "127.0.0.1:9001", zone: eu-a}
`;

test('check: a valid file is printed resolved, as YAML that parses to the same configuration; exit 0', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ok.yaml');
  await writeFile(file, GOOD);
  const r = await runToEnd(['check', '--config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `${file}: valid\n`);
  const printed: unknown = parse(r.stdout);
  assert.deepEqual(parseConfig(printed), await loadConfig({ configFile: file }));
  assert.match(r.stdout, /^ {4}connectMs: 2000$/m, 'defaults are filled in');
});

test('check: every error is named by its path; exit 2; nothing on stdout', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'balancer: {algoritm: maglev}\nendpoints: [{name: a, address: "127.0.0.1:1", wieght: 2}]\nproxy: {timeouts: {connectMs: -1}}\nworkers: 0\n');
  const r = await runToEnd(['check', '--config', file]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `error: ${file}: balancer.algoritm: unknown key; did you mean balancer.algorithm?`,
    `error: ${file}: endpoints[0].wieght: unknown key; did you mean endpoints[0].weight?`,
    `error: ${file}: workers: is 0: use a value of at least 1`,
    `error: ${file}: proxy.timeouts.connectMs: is -1: use a value of at least 1`,
    `${file}: 4 errors; shardgate would not start with it`,
  ]);
});

test('check: a flag is checked with the file, and its errors name the flag', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ok.yaml');
  await writeFile(file, GOOD);
  const r = await runToEnd(['check', '--config', file, '--bounded-load', '0.5']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: --bounded-load \(balancer\.boundedLoad\): is 0\.5/m);
});

test('check: warnings go to stderr and do not fail the check; serve --check is the same', async (t) => {
  const dir = await tempDir(t);
  const endpoints = join(dir, 'endpoints.yaml');
  await writeFile(endpoints, '- {name: shard-0, address: "127.0.0.1:9000"}\n- {name: canary, address: "127.0.0.1:9001"}\n');
  const file = join(dir, 'warn.yaml');
  await writeFile(file, 'workers: 1\nkey: header:x-k\nbalancer: {algorithm: ordinal}\nendpointsFile: endpoints.yaml\nzone: us-east\n');
  for (const command of [['check'], ['serve', '--check']]) {
    const r = await runToEnd([...command, '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines[0]!, /^warning: balancer\.algorithm is ordinal, but endpoint canary does not end in -N/);
    assert.match(lines[1]!, /^warning: zone is "us-east", but no endpoint is in it/);
    assert.equal(lines[2], `${file}: valid, 2 warnings`);
    assert.match(r.stdout, /^endpointsFile: .*endpoints\.yaml$/m);
  }
  // A lookup entry naming an endpoint the file does not have.
  await writeFile(file, 'workers: 1\nkey: header:x-k\nbalancer: {algorithm: lookup, entries: [{key: a, endpoint: shard-7}]}\nendpointsFile: endpoints.yaml\n');
  const r = await runToEnd(['check', '--config', file]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^warning: balancer\.entries\[0\]\.endpoint is "shard-7", which is not an endpoint/m);
  // A broken endpoints file fails the check, as it would fail the start.
  await writeFile(endpoints, '- {name: shard-0}\n');
  const broken = await runToEnd(['check', '--config', file]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /endpoints\[0\]\.address: is missing/);
});

test('README: the check example is what the binary prints', async (t) => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const m = /^\$ shardgate check --config bad\.yaml\n((?:.+\n)+)```/m.exec(readme);
  assert.ok(m !== null, 'the README shows a refused check');
  const dir = await tempDir(t);
  await writeFile(join(dir, 'bad.yaml'), 'balancer: {algoritm: maglev}\nendpoints: [{name: a, address: "127.0.0.1:1", wieght: 2}]\nproxy: {timeouts: {connectMs: -1}}\n');
  const r = await runToEnd(['check', '--config', join(dir, 'bad.yaml')]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.replaceAll(`${dir}/`, ''), m[1]);
});
