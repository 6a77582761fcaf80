/**
 * A proxy bench:faults runs a scenario against, started with the settings of targets.ts, and
 * reloaded as its operator would reload it: shardgate by rewriting its endpoints file (a new file
 * renamed over the old, as editors save) and SIGHUP; HAProxy, in master-worker mode, by rewriting
 * its config and SIGUSR2 to the master, which re-executes itself and forks a new worker while the
 * old one finishes its requests. A reload is over when the proxy has taken the new pods: shardgate
 * logs the new set (`"msg":"endpoints"`), HAProxy's new worker is running.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildRegistry, ManagedChild } from '../common/children.js';
import { freePorts } from '../common/children.js';
import { launchProcess } from '../common/launch-process.js';
import { sampleTree } from '../common/process-tree.js';
import type { Backend, FaultTargetName, PerPodLimit } from './targets.js';
import { endpointsFileText, haproxyFaultConfig, shardgateFaultArgs } from './targets.js';

/** Longest wait for a reload to take. */
const RELOAD_TIMEOUT_MS = 10_000;
const RELOAD_POLL_MS = 5;
/** What shardgate logs for every endpoint set it takes. */
const SET_TAKEN = '"msg":"endpoints"';

export interface ProxyUnderTest {
  readonly target: FaultTargetName;
  /** The root of the proxy's process tree: its RSS is the sum over the tree. */
  readonly child: ManagedChild;
  readonly port: number;
  readonly commandLine: string;
  /** The config file HAProxy runs with, or shardgate's endpoints file. */
  readonly configFile: string;
  /** Applies a new set of pods; resolves once the proxy has taken it (HAProxy: its new worker runs). */
  reload(backends: readonly Backend[]): Promise<void>;
}

export interface ProxyContext {
  readonly dir: string;
  readonly backends: readonly Backend[];
  readonly maxConnections: number;
  readonly perPod?: PerPodLimit;
  readonly repoRoot: string;
  readonly haproxyBinary: string;
}

export type StartedProxy = { readonly kind: 'started'; readonly proxy: ProxyUnderTest } | { readonly kind: 'absent'; readonly reason: string };

/** Writes `text` to a new file and renames it over `path`, so that no reader sees half of it. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

export async function startProxy(registry: ChildRegistry, target: FaultTargetName, ctx: ProxyContext): Promise<StartedProxy> {
  const [port] = (await freePorts(1)) as [number];
  const logFile = join(ctx.dir, `${target}.log`);
  if (target === 'shardgate') {
    const configFile = join(ctx.dir, 'endpoints.yaml');
    const args = [join(ctx.repoRoot, 'bin', 'shardgate.js'), ...shardgateFaultArgs({ port, endpointsFile: configFile, maxConnections: ctx.maxConnections, perPod: ctx.perPod })];
    const started = await launchProcess(registry, 'shardgate', { command: process.execPath, args, files: [{ path: configFile, text: endpointsFileText(ctx.backends) }], ports: [port] }, logFile);
    if (started.kind === 'absent') return started;
    const child = started.child;
    const setsTaken = (): number => readFileSync(logFile, 'utf8').split(SET_TAKEN).length - 1;
    const reload = async (backends: readonly Backend[]): Promise<void> => {
      const before = setsTaken();
      replaceFile(configFile, endpointsFileText(backends));
      process.kill(child.pid, 'SIGHUP');
      await pollUntil(() => setsTaken() > before, () => `shardgate logged no new endpoint set within ${RELOAD_TIMEOUT_MS} ms of SIGHUP:\n${child.logTail()}`);
    };
    return { kind: 'started', proxy: { target, child, port, commandLine: started.commandLine, configFile, reload } };
  }
  const configFile = join(ctx.dir, 'haproxy.cfg');
  const config = (backends: readonly Backend[]): string => haproxyFaultConfig({ port, backends, maxConnections: ctx.maxConnections, perPod: ctx.perPod });
  const started = await launchProcess(registry, 'haproxy', { command: ctx.haproxyBinary, args: ['-W', '-db', '-f', configFile], files: [{ path: configFile, text: config(ctx.backends) }], ports: [port] }, logFile);
  if (started.kind === 'absent') return started;
  const child = started.child;
  const reload = async (backends: readonly Backend[]): Promise<void> => {
    const before = new Set(workers(child.pid));
    replaceFile(configFile, config(backends));
    process.kill(child.pid, 'SIGUSR2');
    await pollUntil(() => workers(child.pid).some((pid) => !before.has(pid)), () => `HAProxy forked no new worker within ${RELOAD_TIMEOUT_MS} ms of SIGUSR2:\n${child.logTail()}`);
  };
  return { kind: 'started', proxy: { target, child, port, commandLine: started.commandLine, configFile, reload } };
}

async function pollUntil(done: () => boolean, failure: () => string): Promise<void> {
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(failure());
    await sleep(RELOAD_POLL_MS);
  }
}

/** The processes under HAProxy's master: its workers, the current one and those still finishing. */
function workers(master: number): number[] {
  return sampleTree(master).pids.filter((pid) => pid !== master);
}
