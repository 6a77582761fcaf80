import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { ChildRegistry, commandLine, freePorts, waitForPort, withManyFiles } from '../../../bench/common/children.js';

/** Gone, or a zombie left for init to reap, within a second. */
async function ended(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!existsSync(`/proc/${pid}`)) return true;
    try {
      if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

test('commandLine: plain words as they are, anything else single-quoted', () => {
  assert.equal(commandLine('wrk', ['-c64', '-H', 'x-key: hot', 'http://127.0.0.1:1/']), "wrk -c64 -H 'x-key: hot' http://127.0.0.1:1/");
  assert.equal(commandLine('sh', ['-c', "echo 'a'"]), `sh -c 'echo '\\''a'\\'''`);
});

test('freePorts: distinct ports', async () => {
  const ports = await freePorts(5);
  assert.equal(new Set(ports).size, 5);
  for (const p of ports) assert.ok(p > 0 && p < 65536);
});

/** A registry and a scratch directory, both cleaned up after the test. */
async function setUp(t: TestContext): Promise<{ registry: ChildRegistry; dir: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'children-'));
  const registry = new ChildRegistry();
  t.after(async () => {
    await registry.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });
  const [port] = await freePorts(1);
  return { registry, dir, port: port! };
}

test('withManyFiles: the command runs with the soft open-files limit raised (up to the hard limit)', () => {
  const hard = Number(/Max open files\s+\d+\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
  const [cmd, args] = withManyFiles('sh', ['-c', 'ulimit -Sn']);
  // Started from a shell whose soft limit is low, as a login shell's often is (1024).
  const r = spawnSync('bash', ['-c', 'ulimit -Sn 512; exec "$0" "$@"', cmd, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(Number(r.stdout.trim()), Math.min(65_536, hard));
});

test('ChildRegistry: a child is waited for on its port and ended with its group', async (t) => {
  const { registry, dir, port } = await setUp(t);
  // A server that also starts a grandchild: stopping the child must end both.
  const script = `
    const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    console.log('grandchild', g.pid);
    require('node:net').createServer().listen(${port}, '127.0.0.1');
  `;
  const child = registry.spawn('server', process.execPath, ['-e', script], join(dir, 'out.log'), { manyFiles: true });
  await waitForPort(child, port);
  const grandchild = Number(/grandchild (\d+)/.exec(child.logTail())?.[1]);
  assert.ok(grandchild > 0, child.logTail());
  await registry.stop(child);
  assert.notEqual(await child.exited, 0);
  assert.ok(await ended(grandchild), 'the grandchild outlived its parent');
});

test('waitForPort: a child that exits first is an error quoting its output', async (t) => {
  const { registry, dir, port } = await setUp(t);
  const child = registry.spawn('quitter', process.execPath, ['-e', 'console.error("bad config"); process.exit(3)'], join(dir, 'out.log'));
  await assert.rejects(waitForPort(child, port), /quitter exited \(3\) before listening[\s\S]*bad config/);
});
