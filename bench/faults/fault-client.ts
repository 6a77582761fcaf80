/**
 * The benchmark's handle on a client process (client-process.ts): commands go out with an id,
 * and each reply settles the command with that id, so that a load, a transfer and status requests
 * can be under way at once. A client that exits fails everything still waiting.
 */
import { fileURLToPath } from 'node:url';
import type { ChildRegistry, ManagedChild } from '../common/children.js';
import type { ClientCommand, ClientReply, HeldStatus, HoldOrder, LoadOrder, TransferOrder } from './client-messages.js';
import type { LoadTally, Outcome } from './tally.js';

const SCRIPT = fileURLToPath(new URL('./client-process.js', import.meta.url));

type Pending = { readonly resolve: (r: ClientReply) => void; readonly reject: (e: Error) => void };

/** Distributes `Omit` over a union, so that each command keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface RunningLoad {
  readonly done: Promise<LoadTally>;
  /** No new request starts; `done` resolves once those in flight end. */
  stop(): Promise<void>;
}

export interface TransferResult {
  readonly outcome: Outcome;
  readonly bytes: number;
  readonly ms: number;
}

export class FaultClient {
  readonly child: ManagedChild;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  private constructor(child: ManagedChild) {
    this.child = child;
    child.process.on('message', (m: ClientReply) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      p?.resolve(m);
    });
    child.exited.then((code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`${child.name} exited (${code}):\n${child.logTail()}`));
      this.#pending.clear();
    });
  }

  static start(registry: ChildRegistry, name: string, logFile: string): FaultClient {
    return new FaultClient(registry.spawn(name, process.execPath, [SCRIPT], logFile, { ipc: true, manyFiles: true }));
  }

  load(order: LoadOrder): RunningLoad {
    const { id, reply } = this.#issue({ type: 'load', order });
    const done = reply.then((r) => expect(r, 'loaded').tally);
    return { done, stop: () => this.#ask({ type: 'stop', loadId: id }).then(() => undefined) };
  }

  /** Resolves once every connection is open (or failed to open). */
  async hold(order: HoldOrder): Promise<HeldStatus> {
    return expect(await this.#ask({ type: 'hold', order }), 'held').status;
  }

  async held(): Promise<HeldStatus> {
    return expect(await this.#ask({ type: 'held' }), 'held').status;
  }

  async release(): Promise<void> {
    await this.#ask({ type: 'release' });
  }

  async transfer(order: TransferOrder): Promise<TransferResult> {
    const r = expect(await this.#ask({ type: 'transfer', order }), 'transferred');
    return { outcome: r.outcome, bytes: r.bytes, ms: r.ms };
  }

  #ask(command: WithoutId<ClientCommand>): Promise<ClientReply> {
    return this.#issue(command).reply;
  }

  #issue(command: WithoutId<ClientCommand>): { id: number; reply: Promise<ClientReply> } {
    const id = this.#nextId++;
    const reply = new Promise<ClientReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.process.send({ ...command, id });
    });
    return { id, reply };
  }
}

function expect<K extends ClientReply['type']>(r: ClientReply, type: K): Extract<ClientReply, { type: K }> {
  if (r.type !== type) throw new Error(`the client answered ${r.type} where ${type} was expected`);
  return r as Extract<ClientReply, { type: K }>;
}
