import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ALGORITHMS, KEYLESS_ALGORITHMS } from '../../src/balancer/factory.js';
import { SERVE_EXAMPLE } from '../../src/cli/help.js';
import { mergeLayers, parseConfig } from '../../src/config/config.js';
import { parseEndpointsText } from '../../src/config/endpoints.js';
import { ROOT, runToEnd } from './run.js';

const readme = await readFile(join(ROOT, 'README.md'), 'utf8');

function blocks(lang: string): string[] {
  const out: string[] = [];
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm');
  for (let m = re.exec(readme); m !== null; m = re.exec(readme)) out.push(m[1]!);
  return out;
}

test('README: a title, then the two commands for a fresh machine', () => {
  const lines = readme.split('\n');
  assert.match(lines[0]!, /^# /);
  assert.deepEqual(lines.slice(2, 6), [
    '```',
    'npm ci && npx shardgate demo      # 4 pods, the problem and the fix, in under 30 s',
    'npm test                          # typecheck, lint and every test',
    '```',
  ]);
});

test('README: the serve example is the one --help shows', () => {
  assert.ok(readme.includes('```\n' + SERVE_EXAMPLE + '\n```'));
});

test('README: the balancer table lists every algorithm, keyed or not as it is', () => {
  for (const name of ALGORITHMS) {
    const row = new RegExp('^\\| `' + name + '` \\| (yes|no) \\|', 'm').exec(readme);
    assert.ok(row !== null, `a row for ${name}`);
    assert.equal(row[1], (KEYLESS_ALGORITHMS as readonly string[]).includes(name) ? 'no' : 'yes', name);
  }
});

test('README: every YAML example is valid', () => {
  const yaml = blocks('yaml');
  assert.ok(yaml.length >= 4);
  const base = { key: 'header:x', endpoints: [0, 1, 2, 3].map((i) => ({ name: `sharded-svc-${i}`, address: `10.0.0.1${i}:8080` })) };
  for (const text of yaml) {
    const data: unknown = parse(text);
    if (Array.isArray(data)) {
      assert.ok(parseEndpointsText(text, 'README endpoints').endpoints.length > 0);
    } else if (typeof data === 'object' && data !== null && 'listen' in data) {
      parseConfig(data, { file: 'README config' });
    } else {
      parseConfig(mergeLayers(base, data as Record<string, unknown>), { file: 'README fragment' });
    }
  }
});

test('README: the error example is what the binary prints', async () => {
  const m = /^\$ shardgate (serve .*)\n(error: .*)$/m.exec(readme);
  assert.ok(m !== null, 'the README shows a refused command');
  const r = await runToEnd(m[1]!.split(' '));
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), m[2]);
});

test('README: the gRPC client example runs as shown, through the package name', async () => {
  const section = readme.slice(readme.indexOf('\n## gRPC client\n'));
  const m = /^```js\n([\s\S]*?)^```$[\s\S]*?^```\n([\s\S]*?)^```$/m.exec(section);
  assert.ok(m !== null, 'the section has the example and its output');
  // Inside the package, so that `shardgate/grpc` resolves to this build as it would once installed.
  const file = join(ROOT, 'dist', 'readme-grpc-example.mjs');
  await writeFile(file, m[1]!);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: ROOT, timeout: 15_000 });
    assert.equal(stdout, m[2]);
  } finally {
    await rm(file, { force: true });
  }
});

test('README: the client library example runs as written, and a tenant stays on one pod', async (t) => {
  const m = /^## Client library\n[\s\S]*?^```js\n([\s\S]*?)^```$/m.exec(readme);
  assert.ok(m !== null, 'the Client library section has a js example');
  // Inside the package, so that `shardgate/client` resolves by the package's own name to this build.
  const file = join(ROOT, 'dist', 'readme-client-example.mjs');
  await writeFile(file, m[1]!);
  t.after(() => rm(file, { force: true }));
  const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 4, stdout);
  for (const line of lines) assert.match(line, /^(acme|globex|initech) -> sharded-svc-[0-2]$/);
  assert.equal(lines[0], lines[3], 'acme reached the same pod both times');
});
