/**
 * The `--workers` default from the container's cgroup CPU limit (src/cluster/container-cpus.ts),
 * read from cgroup trees written into a temporary folder in each layout the kernel and container
 * runtimes produce: cgroup v2 with and without a cgroup namespace, v1, the hybrid layout.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import type { CgroupFiles } from '../../src/cluster/container-cpus.js';
import { cgroupCpuLimit, containerCpus, parseCfsQuota, parseCpuMax } from '../../src/cluster/container-cpus.js';

/** Writes `files` (path -> content) under a new folder: `root` is its `sys/fs/cgroup`, `self` its `proc/self/cgroup`. */
async function tree(t: TestContext, files: Record<string, string>, self: string): Promise<CgroupFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-cgroup-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'sys', 'fs', 'cgroup');
  await mkdir(root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  const selfFile = join(dir, 'proc', 'self', 'cgroup');
  await mkdir(dirname(selfFile), { recursive: true });
  await writeFile(selfFile, self);
  return { root, self: selfFile };
}

test('container cpus: cpu.max and the CFS quota files parse to CPUs; no limit and nonsense are null', () => {
  assert.equal(parseCpuMax('200000 100000\n'), 2);
  assert.equal(parseCpuMax('150000 100000'), 1.5);
  assert.equal(parseCpuMax('50000 100000'), 0.5);
  assert.equal(parseCpuMax('max 100000\n'), null);
  assert.equal(parseCpuMax(''), null);
  assert.equal(parseCpuMax('lots 100000'), null);
  assert.equal(parseCfsQuota('250000\n', '100000\n'), 2.5);
  assert.equal(parseCfsQuota('-1', '100000'), null);
  assert.equal(parseCfsQuota('100000', '0'), null);
});

test('container cpus: cgroup v2 in a container (cgroup namespace): the mount is the pod\'s cgroup', async (t) => {
  const files = await tree(t, { 'cgroup.controllers': 'cpuset cpu io memory pids\n', 'cpu.max': '150000 100000\n' }, '0::/\n');
  assert.equal(cgroupCpuLimit(files), 1.5);
  assert.equal(containerCpus(files, 64), 2, '1.5 CPUs round up to 2 workers');
  assert.equal(containerCpus(files, 1), 1, 'never more than the cores the process may run on');
});

test('container cpus: cgroup v2 seen from the host: the smallest limit along the path to the root wins', async (t) => {
  const pod = 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice';
  const files = await tree(
    t,
    {
      'cgroup.controllers': 'cpu\n',
      'kubepods.slice/cpu.max': '800000 100000\n',
      'kubepods.slice/kubepods-burstable.slice/cpu.max': 'max 100000\n',
      [`${pod}/cpu.max`]: '300000 100000\n',
      [`${pod}/cri-containerd-abc.scope/cpu.max`]: 'max 100000\n',
    },
    `0::/${pod}/cri-containerd-abc.scope\n`,
  );
  assert.equal(cgroupCpuLimit(files), 3, "the pod's limit binds its container, which sets none");
  assert.equal(containerCpus(files, 16), 3);
});

test('container cpus: cgroup v2 without any limit: every core', async (t) => {
  const files = await tree(t, { 'cgroup.controllers': 'cpu\n', 'cpu.max': 'max 100000\n' }, '0::/\n');
  assert.equal(cgroupCpuLimit(files), null);
  assert.equal(containerCpus(files, 8), 8);
});

test('container cpus: a limit below one CPU still gives one worker', async (t) => {
  const files = await tree(t, { 'cgroup.controllers': 'cpu\n', 'cpu.max': '20000 100000\n' }, '0::/\n');
  assert.equal(cgroupCpuLimit(files), 0.2);
  assert.equal(containerCpus(files, 8), 1);
});

test('container cpus: cgroup v1 and the hybrid layout read the cpu controller\'s CFS quota', async (t) => {
  const v1 = await tree(
    t,
    { 'cpu,cpuacct/cpu.cfs_quota_us': '400000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' },
    '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n',
  );
  assert.equal(cgroupCpuLimit(v1), 4, "a container's own cgroup mounted as the controller's root");
  assert.equal(containerCpus(v1, 32), 4);
  const hybrid = await tree(
    t,
    {
      'unified/cgroup.controllers': '\n',
      'cpu/cpu.cfs_quota_us': '-1\n',
      'cpu/cpu.cfs_period_us': '100000\n',
      'cpu/job/cpu.cfs_quota_us': '250000\n',
      'cpu/job/cpu.cfs_period_us': '100000\n',
    },
    '1:cpu:/job\n2:cpuacct:/job\n0::/job\n',
  );
  assert.equal(cgroupCpuLimit(hybrid), 2.5);
  assert.equal(containerCpus(hybrid, 32), 3);
});

test('container cpus: no cgroup filesystem, or a path outside the mount, means no limit from it', async (t) => {
  const none = await tree(t, {}, '');
  assert.equal(cgroupCpuLimit(none), null);
  assert.equal(containerCpus(none, 6), 6);
  const outside = await tree(t, { 'cgroup.controllers': 'cpu\n', 'cpu.max': '100000 100000\n' }, '0::/../../elsewhere\n');
  assert.equal(cgroupCpuLimit(outside), 1, 'read at the mount, never above it');
  assert.equal(cgroupCpuLimit({ root: '/nonexistent/cgroup', self: '/nonexistent/self' }), null);
});
