/**
 * Every process bench:proxy starts, so that all of them end: at the end of the run, on SIGINT or
 * SIGTERM, and (with SIGKILL, synchronously) if the benchmark itself dies. Each child leads its own
 * process group, and the group is signalled, so that nginx's workers or a multi-process
 * shardgate go with their parent.
 *
 * Children that may hold many sockets start through `bash -c 'ulimit -n ...; exec ...'`: the soft
 * limit on open files is raised as far as the hard limit allows, and `exec` keeps the PID.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** The soft open-files limit asked for; the hard limit caps it. */
const WANTED_OPEN_FILES = 65_536;

/** Time a child gets to end on SIGTERM before its group gets SIGKILL. */
const TERM_GRACE_MS = 5_000;

export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** The end of its output, for an error message. */
  logTail(chars?: number): string;
}

export interface SpawnOptions {
  /** Raise the open-files limit first (see the module comment). */
  readonly manyFiles?: boolean;
  /** Give the child an IPC channel (a Node script). */
  readonly ipc?: boolean;
  readonly cwd?: string;
  /** Variables set for the child on top of this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export class ChildRegistry {
  readonly #children = new Set<ManagedChild>();
  readonly #exitHandler = (): void => this.#killNow();

  constructor() {
    // If the benchmark throws or is killed, no proxy may stay behind holding ports and CPU.
    process.on('exit', this.#exitHandler);
  }

  /** Starts `command args`, its stdout and stderr to `logFile`. */
  spawn(name: string, command: string, args: readonly string[], logFile: string, options: SpawnOptions = {}): ManagedChild {
    const [cmd, argv] = options.manyFiles === true ? withManyFiles(command, args) : [command, [...args]];
    const fd = openSync(logFile, 'a');
    const stdio: StdioOptions = options.ipc === true ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd];
    let child: ChildProcess;
    try {
      child = spawn(cmd, argv, { stdio, detached: true, cwd: options.cwd, ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }) });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`${name}: could not start ${command} (is it installed?)`);
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      child.once('error', (e) => resolve(`error: ${e.message}`));
    });
    const managed: ManagedChild = {
      name,
      pid: child.pid,
      process: child,
      logFile,
      exited,
      logTail: (chars = 2000) => {
        const text = readFileSync(logFile, 'utf8');
        return text.slice(-chars);
      },
    };
    this.#children.add(managed);
    exited.then(() => this.#children.delete(managed));
    return managed;
  }

  /** SIGTERM to the child's group, SIGKILL after a grace period; resolves when it has ended. */
  async stop(child: ManagedChild): Promise<void> {
    if (!this.#children.has(child)) return;
    signalGroup(child.pid, 'SIGTERM');
    const timer = sleep(TERM_GRACE_MS).then(() => 'timeout' as const);
    if ((await Promise.race([child.exited, timer])) === 'timeout') {
      signalGroup(child.pid, 'SIGKILL');
      await child.exited;
    }
    // Workers of a master that died first may remain in the group.
    signalGroup(child.pid, 'SIGKILL');
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#children].map((c) => this.stop(c)));
    process.off('exit', this.#exitHandler);
  }

  #killNow(): void {
    for (const c of this.#children) signalGroup(c.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (e) {
    // ESRCH: the whole group has already ended, which is what was wanted.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** `command args` behind a shell that first raises the soft limit on open files. */
export function withManyFiles(command: string, args: readonly string[]): [string, string[]] {
  const script = `ulimit -n ${WANTED_OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  return ['bash', ['-c', script, command, ...args]];
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects if the child ends or time runs out. */
export async function waitForPort(child: ManagedChild, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state: { ended: number | string | null } = { ended: null };
  child.exited.then((code) => (state.ended = code));
  for (;;) {
    if (state.ended !== null) throw new Error(`${child.name} exited (${state.ended}) before listening on ${port}:\n${child.logTail()}`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`${child.name} is not listening on 127.0.0.1:${port} after ${timeoutMs} ms:\n${child.logTail()}`);
    await sleep(50);
  }
}

async function canConnect(port: number): Promise<boolean> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    // ECONNREFUSED until the child listens: that is the answer, not a failure.
    return false;
  } finally {
    socket.destroy();
  }
}

/** `count` distinct free ports: all are bound at once, then released for the children to take. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  try {
    return await Promise.all(
      servers.map(
        (s) =>
          new Promise<number>((resolve, reject) => {
            s.once('error', reject);
            s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** A command line as a shell would take it back: arguments with spaces or quotes single-quoted. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}
