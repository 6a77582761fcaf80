import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ALGORITHMS, KEYLESS_ALGORITHMS } from '../../src/balancer/factory.js';
import { DIRECTORY_EXAMPLE, SERVE_EXAMPLE } from '../../src/cli/help.js';
import { mergeLayers, parseConfig } from '../../src/config/config.js';
import { parseEndpointsText } from '../../src/config/endpoints.js';
import { ROOT, runToEnd, Served } from './run.js';

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

/** The README's Directory section, up to the next top-level section. */
function directorySection(): string {
  const start = readme.indexOf('\n## Directory\n');
  assert.ok(start >= 0, 'the README has a Directory section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Splits a shell command line: words, and single-quoted strings as one word. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** Every `$ command` in the section's plain blocks, with the lines it prints. */
function transcripts(section: string): { command: string[]; output: string[] }[] {
  const out: { command: string[]; output: string[] }[] = [];
  for (const m of section.matchAll(/^```\n([\s\S]*?)^```$/gm)) {
    let current: { command: string[]; output: string[] } | null = null;
    for (const line of m[1]!.replace(/\n$/, '').split('\n')) {
      if (line.startsWith('$ ')) out.push((current = { command: words(line.slice(2)), output: [] }));
      else current?.output.push(line);
    }
  }
  return out;
}

test('README: the directory examples work as printed: the command, every curl answer, and shardgate plan', async (t) => {
  const section = directorySection();
  assert.ok(section.includes('```\n' + DIRECTORY_EXAMPLE + '\n```'), 'the directory command is the one --help shows');
  const printed = /--listen (\S+)/.exec(DIRECTORY_EXAMPLE)![1]!;
  const served = new Served(t, words(DIRECTORY_EXAMPLE.replace(printed, '127.0.0.1:0')).slice(1));
  const { port } = await served.address();
  const steps = transcripts(section);
  assert.ok(steps.filter((s) => s.command[0] === 'curl').length >= 4);
  assert.ok(steps.some((s) => s.command[0] === 'shardgate'));
  for (const { command, output } of steps) {
    let stdout: string;
    if (command[0] === 'curl') {
      const args = command.slice(1).map((a) => a.replace(printed, `127.0.0.1:${port}`));
      // A stream never ends by itself: its first lines are what the README shows.
      const streaming = args.includes('-sN');
      stdout = await new Promise<string>((resolve, reject) => {
        execFile('curl', [...args, ...(streaming ? ['--max-time', '1'] : [])], (e: Error | null, out: string) => (e !== null && !streaming ? reject(e) : resolve(out)));
      });
    } else {
      const r = await runToEnd(command.slice(1));
      assert.equal(r.code, 0, r.stderr);
      stdout = r.stdout;
    }
    const got = stdout.replace(/\n$/, '').split('\n');
    output.forEach((line, i) => {
      if (line.endsWith('...')) assert.ok(got[i]!.startsWith(line.slice(0, -3)), `${command.join(' ')}: line ${i + 1}: ${got[i]}`);
      else assert.equal(got[i], line, `${command.join(' ')}: line ${i + 1}`);
    });
    if (!output.some((l) => l.endsWith('...'))) assert.equal(got.length, output.length, `${command.join(' ')}: ${stdout}`);
  }
});

test('README: the shardgate/owner example calls what the helper has', async () => {
  const code = directorySection().match(/^```js\n([\s\S]*?)^```$/m)![1]!;
  const owner = await import('shardgate/owner');
  assert.ok(code.includes("import { watchOwnership } from 'shardgate/owner';"));
  assert.equal(typeof owner.watchOwnership, 'function');
  for (const [, method] of code.matchAll(/ownership\.(\w+)\(/g)) assert.equal(typeof (owner.Ownership.prototype as unknown as Record<string, unknown>)[method!], 'function', `Ownership.${method!}`);
  for (const [, method] of code.matchAll(/change\.(\w+)\(/g)) assert.ok(['lost', 'gained'].includes(method!), `OwnershipChange.${method!}`);
});
