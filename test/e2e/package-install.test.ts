/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball into an empty
 * folder, then the CLI through `npx shardgate`, every documented entry point through `import()`,
 * and their type declarations through `tsc` against the installed package, never the checkout.
 *
 * The install takes its dependencies from npm's cache when it holds them (`npm ci` has filled it)
 * and from the registry otherwise. Every step runs under a time limit, and the whole test under a
 * generous one: a hung npm fails the test rather than the suite.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../cli/run.js';

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const STEP_MS = 180_000;

/**
 * The child's environment without the npm_* variables `npm test` sets for its scripts: one of them
 * (npm_config_local_prefix) would make the install below land in this checkout.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs = STEP_MS): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: cleanEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1_048_576 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r: Ran, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${String(r.code)}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** The entry points package.json `exports` names, other than package.json itself. */
async function entryPoints(): Promise<Map<string, { types: string; default: string }>> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const out = new Map<string, { types: string; default: string }>();
  for (const [path, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    out.set(path, target as { types: string; default: string });
  }
  return out;
}

test('package: npm pack, then npm install of the tarball into an empty folder gives a working npx shardgate, imports and type declarations', { timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // `npm test` has built dist/ already; the prepare script would build it again.
  const packed = JSON.parse(ok(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT), 'npm pack')) as { filename: string; files: { path: string }[] }[];
  const tarball = join(dir, packed[0]!.filename);
  const files = new Set(packed[0]!.files.map((f) => f.path));
  for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/shardgate.js']) assert.ok(files.has(f), `the tarball holds ${f}`);
  // The admin page's HTML, CSS and JS are shipped as written (src/admin/page/): no build step makes them.
  const shipped = (f: string): boolean => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || (f.startsWith('src/') && !f.startsWith('src/admin/page/'));
  assert.ok(![...files].some(shipped), 'the tarball holds the built library and the page only, not tests, benchmarks or sources');
  for (const f of ['src/admin/page/index.html', 'src/admin/page/page.js', 'src/admin/page/page.css']) assert.ok(files.has(f), `the tarball holds ${f}`);
  const entries = await entryPoints();
  for (const path of ['.', './client', './balancer', './owner', './grpc']) assert.ok(entries.has(path), `package.json exports ${path}`);
  for (const [path, target] of entries) {
    for (const file of [target.types, target.default]) assert.ok(files.has(file.replace(/^\.\//, '')), `exports ${path}: the tarball holds ${file}`);
  }

  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'uses-shardgate', version: '1.0.0', private: true, type: 'module' }));
  ok(await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app), 'npm install of the tarball');
  const installed = join(app, 'node_modules', 'shardgate');
  assert.ok((await stat(installed)).isDirectory(), 'installed under node_modules/shardgate');
  const license = await readFile(join(installed, 'LICENSE'), 'utf8');
  assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
  assert.match(license, /END OF TERMS AND CONDITIONS/);

  const version = ok(await run('npx', ['--no', '--', 'shardgate', '--version'], app, 60_000), 'npx shardgate --version').trim();
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(version, pkg.version);
  const help = ok(await run('npx', ['--no', '--', 'shardgate', '--help'], app, 60_000), 'npx shardgate --help');
  assert.match(help, /serve/);
  const serveHelp = ok(await run('npx', ['--no', '--', 'shardgate', 'serve', '--help'], app, 60_000), 'npx shardgate serve --help');
  assert.match(serveHelp, /--max-connection-age-ms/);

  // Every entry point loads from the installed package, by its public name, and exports what the
  // README shows.
  const probe = [
    "const root = await import('shardgate');",
    "const client = await import('shardgate/client');",
    "const balancer = await import('shardgate/balancer');",
    "const owner = await import('shardgate/owner');",
    "const lb = balancer.createBalancer(balancer.defaultBalancerConfig('ring-hash'), { clock: balancer.monotonicClock, rng: balancer.seededRng(1) });",
    "lb.update(balancer.createEndpointSet([{ name: 'pod-0', address: '127.0.0.1:1' }, { name: 'pod-1', address: '127.0.0.1:2' }]));",
    "const p = lb.pick(balancer.hashKey('acct-42'), null);",
    'console.log(JSON.stringify({ root: typeof root.createShardDispatcher, client: typeof client.createShardDispatcher, owner: typeof owner.watchOwnership, pick: p.kind === "ok" ? p.endpoint.name : p.reason }));',
  ].join('\n');
  await writeFile(join(app, 'probe.mjs'), probe);
  const loaded = JSON.parse(ok(await run(process.execPath, ['probe.mjs'], app, 60_000), 'import() of every entry point').trim()) as Record<string, string>;
  assert.deepEqual({ root: loaded.root, client: loaded.client, owner: loaded.owner }, { root: 'function', client: 'function', owner: 'function' });
  assert.ok(['pod-0', 'pod-1'].includes(loaded.pick!), `the embedded balancer picks an endpoint, not ${loaded.pick}`);

  // The README's example of the balancer core, as written, against the installed package.
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const example = /^```js\n(import [^\n]* from 'shardgate\/balancer';\n[\s\S]*?)^```$/m.exec(readme);
  assert.ok(example !== null, "the README's shardgate/balancer example");
  await writeFile(join(app, 'readme-balancer.mjs'), example[1]!);
  const owner = ok(await run(process.execPath, ['readme-balancer.mjs'], app, 60_000), "the README's shardgate/balancer example");
  assert.match(owner, /^sharded-svc-[01]\n$/);

  // The declarations `exports` names resolve for a TypeScript user (NodeNext), and carry real
  // types: a wrong one below must be reported, or the check proves nothing.
  const typed = [
    "import { createShardDispatcher } from 'shardgate';",
    "import type { ShardDispatcherOptions } from 'shardgate/client';",
    "import { createBalancer, createEndpointSet, defaultBalancerConfig, hashKey, monotonicClock, seededRng } from 'shardgate/balancer';",
    "import type { Balancer, PickResult, RoutingKey } from 'shardgate/balancer';",
    "import { watchOwnership } from 'shardgate/owner';",
    "const lb: Balancer = createBalancer(defaultBalancerConfig('maglev'), { clock: monotonicClock, rng: seededRng(1) });",
    "lb.update(createEndpointSet([{ name: 'pod-0', address: '127.0.0.1:1' }]));",
    "const key: RoutingKey = hashKey('acct-42');",
    'const result: PickResult = lb.pick(key, null);',
    'export const used = [createShardDispatcher, watchOwnership, result] as const;',
    'export type Options = ShardDispatcherOptions;',
  ];
  const tsconfig = {
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
    files: ['use.ts'],
  };
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await writeFile(join(app, 'use.ts'), typed.join('\n'));
  ok(await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app), 'tsc against the installed package');
  await writeFile(join(app, 'use.ts'), [...typed, "export const wrong: string = hashKey('x').hi;"].join('\n'));
  const refused = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
  assert.notEqual(refused.code, 0, 'tsc accepts a number assigned to a string: the declarations carry no types');
  assert.match(refused.stdout, /TS2322/, refused.stdout);
});
