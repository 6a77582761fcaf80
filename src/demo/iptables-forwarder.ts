/**
 * A connection-level balancer, as kube-proxy builds one from iptables for a Service: each NEW TCP
 * connection walks a chain of rules where rule i matches with probability 1/(n - i) (0.25, 0.333,
 * 0.5, then 1 for four pods), which picks every pod with probability 1/n. The choice is made once,
 * at connect, and every byte of that connection then goes to the same pod: a keep-alive client
 * that sends all its requests over one connection sends them all to one pod. That is the problem
 * the demo shows, so this forwarder reproduces the rule chain faithfully and nothing more.
 *
 * Randomness is injected (a seeded Rng in the demo and tests). Every socket has an 'error'
 * listener; failures are counted as `connect-failed` (the pod refused or was unreachable) or
 * `reset` (a side went away mid-connection), and the other side is closed.
 */
import { once } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { Rng } from '../balancer/rng.js';

export interface ForwarderTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/**
 * Walks kube-proxy's rule chain for `n` pods and returns the index of the rule that matched: rule i
 * (0-based) matches with probability 1/(n - i) given that none before it did, and the last rule is
 * unconditional, so every index comes out with probability 1/n.
 */
export function iptablesChoice(n: number, rng: Rng): number {
  for (let i = 0; i < n - 1; i++) {
    if (rng.below(n - i) === 0) return i;
  }
  return n - 1;
}

/** The `--probability` of each rule in the chain, as `iptables-save` shows them: 1/n, 1/(n-1), ..., 1. */
export function iptablesProbabilities(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 / (n - i));
}

export interface ForwarderStats {
  /** Connections sent to each target, by index into the targets. */
  readonly connections: number[];
  connectFailed: number;
  reset: number;
}

export class IptablesForwarder {
  readonly targets: readonly ForwarderTarget[];
  readonly stats: ForwarderStats;
  readonly #rng: Rng;
  readonly #server: Server;
  /** Open sockets on both sides, so that close() does not wait for keep-alive clients to leave. */
  readonly #open = new Set<Socket>();

  constructor(targets: readonly ForwarderTarget[], rng: Rng) {
    if (targets.length === 0) throw new RangeError('IptablesForwarder needs at least one target: a Service with no endpoints rejects connections');
    this.targets = targets;
    this.#rng = rng;
    this.stats = { connections: targets.map(() => 0), connectFailed: 0, reset: 0 };
    // Half-open on both sides: a client that shuts down its sending side still gets its response.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#forward(socket));
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    this.#server.listen(port, host);
    await once(this.#server, 'listening');
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Stops accepting and cuts every open connection; resolves once the listener has closed. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = once(this.#server, 'close');
    this.#server.close();
    for (const s of this.#open) s.destroy();
    await closed;
  }

  #forward(client: Socket): void {
    const i = iptablesChoice(this.targets.length, this.#rng);
    const target = this.targets[i]!;
    this.stats.connections[i]!++;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const open = this.#open;
    open.add(client);
    open.add(upstream);
    let connected = false;
    let failed = false;
    upstream.once('connect', () => {
      connected = true;
    });
    upstream.on('error', () => {
      if (!failed) {
        failed = true;
        if (connected) this.stats.reset++;
        else this.stats.connectFailed++;
      }
      client.destroy();
    });
    client.on('error', () => {
      if (!failed) {
        failed = true;
        this.stats.reset++;
      }
      upstream.destroy();
    });
    // A clean close has already passed its FIN on through pipe(); end() lets the other side flush
    // what it still holds. After a failure there is nothing worth flushing.
    client.once('close', (hadError) => {
      open.delete(client);
      if (hadError) upstream.destroy();
      else upstream.end();
    });
    upstream.once('close', (hadError) => {
      open.delete(upstream);
      if (hadError) client.destroy();
      else client.end();
    });
    // pipe() forwards each side's FIN as end() on the other, and back-pressure both ways.
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
