/**
 * What the real binary refuses in an endpoint list, wherever it is written: names a header cannot
 * carry and addresses that are not IP addresses or hostnames. At start the refusal ends the process
 * (exit 2, naming the flag or file, the field and the value); on a reload of the watched file it is
 * logged, and the previous set keeps serving.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { backend, get, runToEnd, Served, tempDir } from './run.js';

const STACK_FRAME = /^\s+at /m;

/** Runs `serve` to its refusal: exit 2, one line naming what `expected` says, no stack trace. */
async function refused(args: readonly string[], expected: RegExp): Promise<void> {
  const r = await runToEnd(['serve', '--listen', '127.0.0.1:0', '--workers', '1', ...args]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, expected);
  assert.doesNotMatch(r.stderr, STACK_FRAME);
  assert.equal(r.stdout, '');
}

/** Saves `text` over `file` as editors do: a new file renamed over the old. */
async function save(file: string, text: string): Promise<void> {
  await writeFile(`${file}.new`, text);
  await rename(`${file}.new`, file);
}

const NAME_RULE = /only visible ASCII \(letters, digits and punctuation; no spaces, control or non-ASCII characters\), at most 253/;

test('cli: an endpoint name a header cannot carry is refused at start, from --endpoints, a config file or an endpoints file; exit 2', async (t) => {
  await refused(['--endpoints', 'pod-0=127.0.0.1:9000,pod-\u2603=127.0.0.1:9001'], /^error: --endpoints \(endpoints\[1\]\.name\): is "pod-\u2603": "\u2603" \(U\+2603\) at position 5 is not allowed: /);
  await refused(['--endpoints', 'pod-\u2603=127.0.0.1:9001'], NAME_RULE);
  const dir = await tempDir(t);
  const config = join(dir, 'shardgate.yaml');
  await writeFile(config, 'endpoints:\n  - { name: "pod\\a0", address: "127.0.0.1:9000" }\n');
  await refused(['--config', config], new RegExp(`^error: ${config.replace(/[.]/g, '\\.')}: endpoints\\[0\\]\\.name: is "pod\\\\u00070": "\\\\u0007" \\(U\\+0007\\) at position 4 is not allowed`));
  const file = join(dir, 'endpoints.yaml');
  await writeFile(file, '- { name: "pod 0", address: "127.0.0.1:9000" }\n');
  await refused(['--endpoints-file', file], new RegExp(`^error: ${file.replace(/[.]/g, '\\.')}: endpoints\\[0\\]\\.name: is "pod 0": " " \\(U\\+0020\\) at position 4 is not allowed`));
});

test('cli: a watched endpoints file that names an endpoint a header cannot carry is refused and logged; the previous set keeps serving', async (t) => {
  const dir = await tempDir(t);
  const pod0 = await backend(t, 'pod-0');
  const pod1 = await backend(t, 'pod-1');
  const file = join(dir, 'endpoints.yaml');
  await writeFile(file, `- {name: pod-0, address: "${pod0}"}\n`);
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--endpoints-file', file, '--balancer', 'round-robin']);
  const { port } = await served.address();
  await save(file, `- {name: pod-0, address: "${pod0}"}\n- {name: "pod-\u2603", address: "${pod1}"}\n`);
  const warning = await served.waitFor((l) => l.field === 'endpoints[1].name', 'the refused set');
  assert.match(String(warning.msg), /endpoints\[1\]\.name: is "pod-\u2603": .*; still serving the previous set \(version 1, 1 endpoints\)$/);
  for (let i = 0; i < 4; i++) assert.deepEqual(await get(port).then((r) => [r.status, r.endpoint]), [200, 'pod-0']);
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});

test('cli: an address that is no IPv4 address, IPv6 address or hostname is refused at start, from --endpoints or an endpoints file; exit 2', async (t) => {
  await refused(['--endpoints', 'pod-1=300.0.0.1:9001'], /^error: --endpoints \(endpoints\[0\]\.address\): is "300\.0\.0\.1:9001": "300\.0\.0\.1" is not an IPv4 address \(four numbers from 0 to 255, without leading zeros\), and a hostname's last label cannot be a number\n$/);
  const file = join(await tempDir(t), 'endpoints.yaml');
  await writeFile(file, '- { name: pod-0, address: "h2c://1.2.3:50051" }\n');
  await refused(['--endpoints-file', file], /: endpoints\[0\]\.address: is "h2c:\/\/1\.2\.3:50051": "1\.2\.3" is not an IPv4 address/);
});

test('cli: a watched endpoints file with an address that is no IPv4 address is refused with the field and value; the previous set keeps serving', async (t) => {
  const dir = await tempDir(t);
  const pod0 = await backend(t, 'pod-0');
  const file = join(dir, 'endpoints.yaml');
  await writeFile(file, `- {name: pod-0, address: "${pod0}"}\n`);
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--endpoints-file', file, '--balancer', 'round-robin']);
  const { port } = await served.address();
  await save(file, `- {name: pod-0, address: "${pod0}"}\n- {name: pod-1, address: "300.0.0.1:9001"}\n`);
  const warning = await served.waitFor((l) => l.level === 40, 'the refused set');
  assert.equal(warning.field, 'endpoints[1].address');
  assert.match(String(warning.msg), /endpoints\[1\]\.address: is "300\.0\.0\.1:9001": "300\.0\.0\.1" is not an IPv4 address .*; still serving the previous set \(version 1, 1 endpoints\)$/);
  assert.deepEqual(served.lines.filter((l) => typeof l.level === 'number' && l.level >= 50), [], 'nothing failed: the set never reached the proxy');
  for (let i = 0; i < 4; i++) assert.deepEqual(await get(port).then((r) => [r.status, r.endpoint]), [200, 'pod-0']);
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});
