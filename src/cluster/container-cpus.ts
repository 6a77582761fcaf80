/**
 * How many CPUs this process may use, for the `--workers` default: the container's CPU limit, not
 * the node's core count. Node's `os.availableParallelism()` counts the cores the scheduler lets the
 * process run on (its affinity, so cpusets count), but not a CFS bandwidth quota: a pod limited to
 * 2 CPUs on a 64-core node sees 64, and 64 workers there would spend their time throttled. Go
 * (1.25's GOMAXPROCS), the JVM (UseContainerSupport) and .NET read the quota the same way.
 *
 * - cgroup v2: `cpu.max` holds `QUOTA PERIOD` (`max` for no limit), in microseconds.
 * - cgroup v1: `cpu.cfs_quota_us` (-1 for no limit) and `cpu.cfs_period_us` in the cpu controller.
 *
 * A limit set on a parent cgroup binds its children too, so every level from the process's own
 * cgroup (`/proc/self/cgroup`) up to the mount is read and the smallest limit wins. Inside a
 * container the mount is the container's own cgroup, and the path names it or lies outside it; the
 * walk then starts at the mount. The result is rounded up (1.5 CPUs of quota keep 2 threads
 * busy part of the time, as Go rounds), at least 1 and at most `availableParallelism()`.
 *
 * Read synchronously, once per start: a few small files of a pseudo-filesystem. Unreadable or
 * malformed files count as no limit; the default must never stop the proxy from starting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';

export interface CgroupFiles {
  /** Where the cgroup filesystem is mounted: `/sys/fs/cgroup`. */
  readonly root: string;
  /** The process's cgroup membership: `/proc/self/cgroup`. */
  readonly self: string;
}

export const SYSTEM_CGROUP: CgroupFiles = Object.freeze({ root: '/sys/fs/cgroup', self: '/proc/self/cgroup' });

/** cgroup v2 `cpu.max` ("150000 100000", "max 100000") as CPUs; null: no limit or not readable. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return null;
  return cpusOf(Number(quota), period === undefined ? 100_000 : Number(period));
}

/** cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` as CPUs; null: no limit (-1) or not readable. */
export function parseCfsQuota(quotaText: string, periodText: string): number | null {
  return cpusOf(Number(quotaText.trim()), Number(periodText.trim()));
}

function cpusOf(quotaUs: number, periodUs: number): number | null {
  if (!Number.isFinite(quotaUs) || !Number.isFinite(periodUs) || quotaUs <= 0 || periodUs <= 0) return null;
  return quotaUs / periodUs;
}

/**
 * The smallest CPU limit along the process's cgroup path, in CPUs (fractional); null when no level
 * sets one, or there is no cgroup filesystem.
 */
export function cgroupCpuLimit(files: CgroupFiles = SYSTEM_CGROUP): number | null {
  const membership = readText(files.self) ?? '';
  // cgroup v2 alone (the unified hierarchy mounted at the root): `0::/path`.
  if (existsSync(join(files.root, 'cgroup.controllers'))) {
    return smallestAlong(files.root, pathOf(membership, (controllers) => controllers === ''), (dir) => {
      const max = readText(join(dir, 'cpu.max'));
      return max === null ? null : parseCpuMax(max);
    });
  }
  // cgroup v1 (also in the hybrid layout, where the cpu controller stays on v1): `4:cpu,cpuacct:/path`.
  for (const name of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
    const mount = join(files.root, name);
    if (!existsSync(join(mount, 'cpu.cfs_quota_us'))) continue;
    return smallestAlong(mount, pathOf(membership, (controllers) => controllers.split(',').includes('cpu')), (dir) => {
      const quota = readText(join(dir, 'cpu.cfs_quota_us'));
      const period = readText(join(dir, 'cpu.cfs_period_us'));
      return quota === null || period === null ? null : parseCfsQuota(quota, period);
    });
  }
  return null;
}

/**
 * The `--workers` default: the container's CPU limit rounded up, at least 1, at most the cores the
 * process may run on.
 */
export function containerCpus(files: CgroupFiles = SYSTEM_CGROUP, available: number = availableParallelism()): number {
  const limit = cgroupCpuLimit(files);
  const cores = Math.max(1, available);
  return limit === null ? cores : Math.min(cores, Math.max(1, Math.ceil(limit)));
}

/** The path of the line whose controller list `matches`, from /proc/self/cgroup; `/` when none. */
function pathOf(membership: string, matches: (controllers: string) => boolean): string {
  for (const line of membership.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    if (matches(line.slice(first + 1, second))) return line.slice(second + 1).trim() || '/';
  }
  return '/';
}

/** The smallest of `limitIn(dir)` from `mount/path` up to `mount`. */
function smallestAlong(mount: string, path: string, limitIn: (dir: string) => number | null): number | null {
  const top = resolve(mount);
  let dir = resolve(top, `.${path.startsWith('/') ? path : `/${path}`}`);
  // A path outside the mount (`/../..`, in a cgroup namespace) or not under it (a container whose
  // mount is its own cgroup): start at the mount.
  if (relative(top, dir).startsWith('..') || !existsSync(dir)) dir = top;
  let smallest: number | null = null;
  for (;;) {
    const limit = limitIn(dir);
    if (limit !== null && (smallest === null || limit < smallest)) smallest = limit;
    if (dir === top) return smallest;
    dir = resolve(dir, '..');
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Missing or unreadable (no cgroup filesystem, a controller not enabled): no limit from it.
    return null;
  }
}
