/**
 * Every example in examples/ run with node, as the reader runs it, against a real
 * `shardgate demo --serve` (the binary, on ephemeral ports, its files in a folder of the test's
 * own), and what each prints checked against the demo's own directory: the owners agree with the
 * proxy's routing. Last, the demo stops on SIGINT, removes its files and exits 0.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BIN, ROOT, Served } from '../cli/run.js';
import { until } from '../helpers/until.js';

interface DemoInfo {
  readonly proxy: string;
  readonly admin: string;
  readonly endpointsFile: string;
  readonly keyHeader: string;
}

interface OwnerAnswer {
  readonly endpoint: string;
  readonly address: string;
}

let dir: string;
let demo: ChildProcess;
let output = '';
let info: DemoInfo;
let infoFile: string;
let pods: { name: string; address: string }[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shardgate-examples-'));
  demo = spawn(process.execPath, [BIN, 'demo', '--serve', '--port', '0', '--admin-port', '0', '--dir', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  demo.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  demo.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  await until(`the demo serving; it printed:\n${output}`, () => output.includes('SIGTERM stops the demo') || demo.exitCode !== null, 60_000);
  assert.ok(output.includes('SIGTERM stops the demo'), output);
  infoFile = join(dir, 'demo.json');
  info = JSON.parse(await readFile(infoFile, 'utf8')) as DemoInfo;
  pods = JSON.parse(await readFile(info.endpointsFile, 'utf8')) as { name: string; address: string }[];
});

after(async () => {
  if (demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGKILL');
    await once(demo, 'exit');
  }
  await rm(dir, { recursive: true, force: true });
});

/** Runs examples/NAME.mjs on the demo's demo.json and resolves to what it printed. */
async function run(name: string, env: Readonly<Record<string, string>> = {}): Promise<string> {
  assert.ok(EXAMPLES.includes(name), name);
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'examples', `${name}.mjs`), infoFile], { cwd: ROOT, timeout: 30_000, env: { ...process.env, ...env } });
  return stdout;
}

async function ownerOf(key: string, base = info.admin, generation: number | null = null): Promise<OwnerAnswer> {
  const res = await fetch(`${base}/v1/owner?key=${encodeURIComponent(key)}${generation === null ? '' : `&generation=${generation}`}`);
  assert.equal(res.status, 200, `${base}/v1/owner?key=${key}`);
  return (await res.json()) as OwnerAnswer;
}

async function generation(): Promise<{ generation: number; members: { endpoint: string }[] }> {
  return (await (await fetch(`${info.admin}/v1/assignments`)).json()) as { generation: number; members: { endpoint: string }[] };
}

/** `[key, pod, rest]` of the lines `account KEY -> POD...`. */
function accountLines(stdout: string): [string, string, string][] {
  return [...stdout.matchAll(/^ {2}account (\S+) -> (\S+?),? (.*)$/gm)].map((m) => [m[1]!, m[2]!, m[3]!]);
}

/** The pods and counts of the `no key -> pod-0 x5, ...` line. */
function keylessSpread(stdout: string): Map<string, number> {
  const line = /^ {2}no key -> (.*) \(20 requests\)$/m.exec(stdout);
  assert.ok(line !== null, stdout);
  return new Map([...line[1]!.matchAll(/(pod-\d) x(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

function assertSpread(stdout: string): void {
  const spread = keylessSpread(stdout);
  assert.equal([...spread.values()].reduce((a, b) => a + b, 0), 20, stdout);
  assert.ok(spread.size >= 2, `20 requests without a key all reached one pod:\n${stdout}`);
}

/** The examples this file runs; a new one must be added here and to examples/README.md. */
const EXAMPLES = ['client', 'directory', 'owner', 'proxy'];

test('examples/README.md gives the command of every example, and this file runs each', async () => {
  const files = (await readdir(join(ROOT, 'examples'))).filter((f) => f.endsWith('.mjs')).sort();
  assert.deepEqual(files, EXAMPLES.map((e) => `${e}.mjs`));
  const readme = await readFile(join(ROOT, 'examples', 'README.md'), 'utf8');
  for (const file of files) assert.ok(readme.includes(`| \`node examples/${file}\` |`), `examples/README.md has a row for ${file}`);
  assert.ok(readme.includes('\nnpx shardgate demo --serve\n'));
});

test('the demo prints every address: the proxy, the admin listener, the endpoints file and demo.json', () => {
  assert.ok(output.includes(`Serving: shardgate on ${info.proxy}\n`), output);
  assert.ok(output.includes(`(admin listener): ${info.admin}\n`), output);
  assert.ok(output.includes(`endpoints file, watched: ${info.endpointsFile}\n`), output);
  assert.ok(output.includes(`for the examples: ${infoFile}\n`), output);
  assert.ok(output.includes(`node examples/proxy.mjs ${infoFile}`), 'a demo outside the default folder names demo.json for the examples');
  assert.deepEqual(pods.map((p) => p.name), ['pod-0', 'pod-1', 'pod-2', 'pod-3']);
});

test('examples/proxy.mjs: each account reaches one pod, its owner; requests without a key spread', async () => {
  const stdout = await run('proxy');
  const lines = accountLines(stdout);
  assert.equal(lines.length, 4, stdout);
  for (const [key, pod, rest] of lines) {
    assert.equal(rest, '(5 requests)', `account ${key} reached more than one pod:\n${stdout}`);
    assert.equal(pod, (await ownerOf(key)).endpoint, `account ${key}`);
  }
  assert.equal(new Set(lines.map(([, pod]) => pod)).size, 4, 'the four accounts show all four pods');
  assertSpread(stdout);
});

test('examples/client.mjs: fetch with the dispatcher reaches the owners the proxy reaches, with no proxy hop', async () => {
  const stdout = await run('client');
  const lines = accountLines(stdout);
  assert.equal(lines.length, 4, stdout);
  for (const [key, pod, rest] of lines) {
    assert.equal(rest, `(the proxy: ${pod})`, `account ${key}:\n${stdout}`);
    assert.equal(pod, (await ownerOf(key)).endpoint, `account ${key}`);
  }
  assertSpread(stdout);
});

test('examples/directory.mjs: the named pod answers; the stream and the plan are printed', async () => {
  const stdout = await run('directory');
  const lines = [...stdout.matchAll(/^ {2}account (\S+): owner (\S+) at (\S+) \(then .*\); it answers as (\S+)$/gm)];
  assert.equal(lines.length, 4, stdout);
  for (const [, key, owner, address, answered] of lines) {
    assert.equal(answered, owner, `account ${key!}`);
    assert.equal(address, pods.find((p) => p.name === owner)!.address, `account ${key!}: the owner's address`);
    assert.equal(owner, (await ownerOf(key!)).endpoint);
  }
  assert.match(stdout, /^ {2}snapshot: generation \d+, pod-0 [\d.]+%, pod-1 [\d.]+%, pod-2 [\d.]+%, pod-3 [\d.]+%$/m);
  const moved = /^adding pod-4 would move ([\d.]+)% of the accounts \(exact\):$/m.exec(stdout);
  assert.ok(moved !== null, stdout);
  assert.ok(Number(moved[1]) > 10 && Number(moved[1]) < 30, `about 1/5 of the keys move to a fifth pod: ${moved[1]}%`);
  assert.equal([...stdout.matchAll(/^ {2}pod-[0-3] -> pod-4: [\d.]+%$/gm)].length, 4, stdout);
});

test('shardgate directory on the demo endpoints file names the owners the demo names', async (t) => {
  const served = new Served(t, ['directory', '--listen', '127.0.0.1:0', '--endpoints-file', info.endpointsFile, '--balancer', 'ring-hash', '--bounded-load', '1.25', '--key', 'header:x-account']);
  const { port } = await served.address();
  await until('the standalone directory has the pods', () => served.lines.some((l) => l.msg === 'endpoints'));
  for (const key of ['2', '7', '42', '1001', 'acct-9']) {
    assert.equal((await ownerOf(key, `http://127.0.0.1:${port}`)).endpoint, (await ownerOf(key)).endpoint, `key ${key}`);
  }
});

test('examples/owner.mjs: owns() agrees with the directory, and onChange hands keys over as the proxy moves them', async () => {
  const before = await generation();
  const stdout = await run('owner', { POD_NAME: 'pod-1' });
  const owns = [...stdout.matchAll(/^ {2}owns\('(\S+)'\): (true|false), owner: (\S+)$/gm)];
  assert.equal(owns.length, 4, stdout);
  for (const [, key, mine, owner] of owns) {
    assert.equal(owner, (await ownerOf(key!)).endpoint, `account ${key!}`);
    assert.equal(mine === 'true', owner === 'pod-1', `account ${key!}`);
  }
  assert.match(stdout, /^pod-3 leaves:\nonChange: generation \d+ -> \d+, members pod-0, pod-1, pod-2$/m);
  const gained = /^ {2}gained \d+: (.*)$/m.exec(stdout)?.[1]?.split(', ') ?? [];
  const handedOff = [...(/^ {2}hand off \d+: (.*)$/m.exec(stdout)?.[1] ?? '').matchAll(/(\S+) -> (\S+?)(?:,|$)/g)].map((m) => [m[1]!, m[2]!]);
  assert.ok(gained.length > 0, `pod-1 gains some of pod-3's 100 accounts:\n${stdout}`);
  assert.deepEqual(handedOff, gained.map((k) => [k, 'pod-3']), 'what it gained, it hands back to pod-3');
  assert.equal([...stdout.matchAll(/^ {2}the demo's proxy sends account \S+ to (pod-\d) too$/gm)].map((m) => m[1]).join(), 'pod-1,pod-3', stdout);

  // The demo's directory followed the same two changes of the file: pod-3 out, then back.
  let now = await generation();
  for (let i = 0; i < 100 && now.generation < before.generation + 2; i++) {
    await sleep(50);
    now = await generation();
  }
  assert.equal(now.generation, before.generation + 2, 'two membership changes');
  assert.deepEqual(now.members.map((m) => m.endpoint), ['pod-0', 'pod-1', 'pod-2', 'pod-3']);
  for (const key of gained) {
    assert.equal((await ownerOf(key, info.admin, before.generation + 1)).endpoint, 'pod-1', `account ${key} while pod-3 was away`);
    assert.equal((await ownerOf(key)).endpoint, 'pod-3', `account ${key} now`);
  }
  assert.equal(await readFile(info.endpointsFile, 'utf8'), `${JSON.stringify(pods, null, 2)}\n`, 'the endpoints file is as the demo wrote it');
});

test('the demo stops on SIGINT, prints what the pods served, removes its files and exits 0', async () => {
  demo.kill('SIGINT');
  const [code] = (await once(demo, 'exit')) as [number | null];
  assert.equal(code, 0, output);
  assert.match(output, /SIGINT: stopping\. Requests served while serving:/);
  const served = [...output.matchAll(/^\s*pod-\d\s+(\d+)\s+(\d+)$/gm)].map((m) => Number(m[1]));
  assert.ok(served.reduce((a, b) => a + b, 0) > 100, `the pods counted the examples' requests:\n${output}`);
  await assert.rejects(access(infoFile));
  await assert.rejects(access(info.endpointsFile));
});
