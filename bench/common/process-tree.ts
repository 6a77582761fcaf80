/**
 * CPU time and memory of a process and all its descendants, from /proc: nginx's master and
 * workers, a multi-process shardgate, every thread of HAProxy. CPU is utime + stime of
 * /proc/PID/stat (all threads of a process, threads that ended included); memory is VmRSS of
 * /proc/PID/status, summed over the processes (pages they share are counted once per process).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
}

/**
 * Parses /proc/PID/stat. The command name (field 2) is in parentheses and may hold spaces and
 * parentheses itself, so the fields are counted from its last `)`.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/PID/stat line (no ")"): ${text.slice(0, 80)}`);
  const pid = Number.parseInt(text, 10);
  // After ") ": state(3) ppid(4) ... utime(14) stime(15); index 0 here is field 3.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (![pid, ppid, utime, stime].every(Number.isFinite)) throw new Error(`unexpected /proc/PID/stat fields: ${text.slice(0, 200)}`);
  return { pid, ppid, cpuTicks: utime + stime };
}

/** VmRSS of /proc/PID/status in bytes; 0 when absent (a zombie has none). */
export function parseVmRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** The root and its descendants, root first, from a list of every process's stat. */
export function descendants(root: number, all: readonly ProcStat[]): number[] {
  const children = new Map<number, number[]>();
  for (const s of all) {
    const list = children.get(s.ppid);
    if (list === undefined) children.set(s.ppid, [s.pid]);
    else list.push(s.pid);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    // A process that ended between the directory listing and the read is simply gone.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return null;
    throw e;
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = readProc(`/proc/${name}/stat`);
    if (text !== null) out.push(parseProcStat(text));
  }
  return out;
}

export interface TreeSample {
  /** utime + stime of every process in the tree, in microseconds. */
  readonly cpuUs: number;
  readonly rssBytes: number;
  readonly pids: readonly number[];
}

const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    // getconf is in libc-bin on every Debian; without it, Linux's USER_HZ has been 100 for decades.
    return 100;
  }
})();

export function sampleTree(root: number): TreeSample {
  const stats = allStats();
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const pids = descendants(root, stats).filter((pid) => byPid.has(pid));
  let ticks = 0;
  let rss = 0;
  for (const pid of pids) {
    ticks += byPid.get(pid)!.cpuTicks;
    const status = readProc(`/proc/${pid}/status`);
    if (status !== null) rss += parseVmRssBytes(status);
  }
  return { cpuUs: (ticks * 1e6) / TICKS_PER_S, rssBytes: rss, pids };
}

export interface PeakRss {
  /** Ends the sampling; the largest RSS sum seen, a last sample included. */
  stop(): number;
}

/** Samples the RSS of `root`'s tree every `intervalMs`, from now until `stop()`. */
export function watchPeakRss(root: number, intervalMs: number): PeakRss {
  let peak = sampleTree(root).rssBytes;
  const timer = setInterval(() => {
    peak = Math.max(peak, sampleTree(root).rssBytes);
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, sampleTree(root).rssBytes);
    },
  };
}
