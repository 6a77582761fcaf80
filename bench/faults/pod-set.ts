/**
 * The pods of one bench:faults run: one pods process per pod, so that one of them can be killed
 * with SIGKILL as a crashed pod dies, each writing the requests it takes on to a seen log of its
 * own (see pods-process.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildRegistry } from '../common/children.js';
import { PodFleet } from '../common/pod-fleet.js';
import type { PodMode } from '../common/pod-messages.js';
import type { Backend } from './targets.js';

export class PodSet {
  readonly #registry: ChildRegistry;
  readonly #fleets: readonly PodFleet[];
  readonly #seenLogs: readonly string[];

  private constructor(registry: ChildRegistry, fleets: readonly PodFleet[], seenLogs: readonly string[]) {
    this.#registry = registry;
    this.#fleets = fleets;
    this.#seenLogs = seenLogs;
  }

  static async start(registry: ChildRegistry, count: number, dir: string): Promise<PodSet> {
    const seenLogs = Array.from({ length: count }, (_, i) => join(dir, `seen-pod-${i}.log`));
    const fleets = await Promise.all(seenLogs.map((seenLog, i) => PodFleet.start(registry, 1, join(dir, `pod-${i}.log`), { firstIndex: i, seenLog, name: `pod-${i}` })));
    return new PodSet(registry, fleets, seenLogs);
  }

  /** Every pod, weight 1. */
  backends(): Backend[] {
    return this.#fleets.map((f) => ({ ...f.pods[0]!, weight: 1 }));
  }

  /** SIGKILL, as a pod dies when its node fails or the OOM killer takes it. */
  kill(i: number): void {
    process.kill(this.#fleet(i).child.pid, 'SIGKILL');
  }

  setMode(i: number, mode: PodMode): Promise<void> {
    return this.#fleet(i).setMode(mode);
  }

  async setModeAll(mode: PodMode): Promise<void> {
    await Promise.all(this.#fleets.map((f) => f.setMode(mode)));
  }

  restart(i: number, pauseMs: number): Promise<void> {
    return this.#fleet(i).restart(pauseMs);
  }

  /** Every pod's seen log, one after the other. */
  seenText(): string {
    return this.#seenLogs.map((p) => (existsSync(p) ? readFileSync(p, 'utf8') : '')).join('');
  }

  async stop(): Promise<void> {
    await Promise.all(this.#fleets.map((f) => this.#registry.stop(f.child)));
  }

  #fleet(i: number): PodFleet {
    const f = this.#fleets[i];
    if (f === undefined) throw new RangeError(`pod ${i} of ${this.#fleets.length}`);
    return f;
  }
}
