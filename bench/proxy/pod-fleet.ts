/**
 * The benchmark's handle on the pods process (pods-process.ts): starts it, then sets the delay,
 * resets and reads the counters, one command at a time.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildRegistry, ManagedChild } from './children.js';
import type { PodCommand, PodReply, PodStats } from './pod-messages.js';
import type { PodAddress } from './scenario.js';

const DRAIN_POLL_MS = 50;

export class PodFleet {
  readonly pods: readonly PodAddress[];
  readonly child: ManagedChild;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(child: ManagedChild, pods: readonly PodAddress[]) {
    this.child = child;
    this.pods = pods;
  }

  static async start(registry: ChildRegistry, script: string, count: number, logFile: string): Promise<PodFleet> {
    const child = registry.spawn('pods', process.execPath, [script, String(count)], logFile, { ipc: true });
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
      return (await reply)[0];
    });
    // The caller gets the failure through `next`; the queue only has to move on to the next command.
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
