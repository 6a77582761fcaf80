/**
 * The benchmark's handle on a pods process (pods-process.ts): starts it, then sets the delay or the
 * pods' mode, restarts them, resets and reads the counters, one command at a time.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ChildRegistry, ManagedChild } from './children.js';
import type { PodAddress, PodCommand, PodMode, PodReply, PodStats } from './pod-messages.js';

const DRAIN_POLL_MS = 50;
const SCRIPT = fileURLToPath(new URL('./pods-process.js', import.meta.url));

export interface PodFleetOptions {
  /** The first pod's number: pod-N. */
  readonly firstIndex?: number;
  /** Where the pods write the requests they take on (see pods-process.ts). */
  readonly seenLog?: string;
  /** The child's name in the registry and in errors. */
  readonly name?: string;
}

export class PodFleet {
  readonly pods: readonly PodAddress[];
  readonly child: ManagedChild;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(child: ManagedChild, pods: readonly PodAddress[]) {
    this.child = child;
    this.pods = pods;
  }

  static async start(registry: ChildRegistry, count: number, logFile: string, options: PodFleetOptions = {}): Promise<PodFleet> {
    const args = [SCRIPT, String(count), '--first-index', String(options.firstIndex ?? 0), ...(options.seenLog === undefined ? [] : ['--seen-log', options.seenLog])];
    const child = registry.spawn(options.name ?? 'pods', process.execPath, args, logFile, { ipc: true });
    const ready = once(child.process, 'message') as Promise<[PodReply]>;
    const result = await Promise.race([ready, child.exited.then((code) => code)]);
    if (!Array.isArray(result)) throw new Error(`the pods process exited (${result}) before it was ready:\n${child.logTail()}`);
    const [m] = result;
    if (m.type !== 'ready') throw new Error(`the pods process said ${JSON.stringify(m)} instead of ready`);
    return new PodFleet(child, m.pods);
  }

  setDelay(ms: number): Promise<void> {
    return this.#ask({ type: 'delay', ms }).then(() => undefined);
  }

  setMode(mode: PodMode): Promise<void> {
    return this.#ask({ type: 'mode', mode }).then(() => undefined);
  }

  /** A graceful restart of every pod of the process; resolves once they listen again. */
  restart(pauseMs: number): Promise<void> {
    return this.#ask({ type: 'restart', pauseMs }).then(() => undefined);
  }

  /** Zeroes the request counts and brings each peak down to what is in flight now. */
  reset(): Promise<void> {
    return this.#ask({ type: 'reset' }).then(() => undefined);
  }

  /** Resolves once no pod has a request in flight; rejects after `timeoutMs`. */
  async drain(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const busy = (await this.stats()).filter((p) => p.inFlight > 0);
      if (busy.length === 0) return;
      if (Date.now() > deadline) throw new Error(`pods still busy after ${timeoutMs} ms: ${busy.map((p) => `${p.name} ${p.inFlight}`).join(', ')}`);
      await sleep(DRAIN_POLL_MS);
    }
  }

  async stats(): Promise<readonly PodStats[]> {
    const m = await this.#ask({ type: 'stats' });
    if (m.type !== 'stats') throw new Error(`the pods process answered ${JSON.stringify(m)} to stats`);
    return m.pods;
  }

  #ask(command: PodCommand): Promise<PodReply> {
    const next = this.#queue.then(async () => {
      const reply = once(this.child.process, 'message') as Promise<[PodReply]>;
      this.child.process.send(command);
      const ended = this.child.exited.then((code) => Promise.reject(new Error(`${this.child.name} exited (${code}) before answering ${command.type}:\n${this.child.logTail()}`)));
      return (await Promise.race([reply, ended]))[0];
    });
    // The caller gets the failure through `next`; the queue only has to move on to the next command.
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
