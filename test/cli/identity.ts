/**
 * Identity checks for `shardgate serve` with discovery: real pods on 127.0.0.1 that answer with
 * their own name, continuous keyed GET load through the real proxy process, and, for each change
 * of the pods, two facts:
 *
 * - no request failed: every answer was a 200 from some pod (a request that met a dead pod was
 *   retried on the key's next owner);
 * - the keys that moved are exactly the keys whose owner our own balancer says changed, computed
 *   from the endpoint names before and after (key-owners.ts). With ring hash that is the new pod's
 *   keys on scale-up, the removed pod's on scale-down, a draining pod's when it starts to drain,
 *   and none when a pod comes back at a new address under the same name.
 *
 * Why `--bounded-load 8` with 8 requests in flight at most: a pod's bound is
 * ceil(c x (in flight + 1) / pods), so with c at least the number of pods (5 at most here) no pod
 * can be over its bound even with every request in flight on it, and no key ever spills. The
 * bounded-load wrapper is in the path, but cannot blur which pod owns a key; with c = 1.25 keys
 * would spill whenever two or three requests met on one pod, and the owner check would be noise.
 *
 * `startSrvSetup` starts the whole rig for DNS discovery (pods, dnsmasq, the proxy, the load).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import type { Backend } from '../helpers/backends.js';
import { closeGracefully, startBackend } from '../helpers/backends.js';
import type { Dnsmasq, DnsmasqOptions, DnsRecords } from '../helpers/dnsmasq.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { expectedOwners, movedKeys } from '../helpers/key-owners.js';
import { KeyedLoad } from '../helpers/keyed-load.js';
import type { LogLine } from './run.js';
import { Served } from './run.js';

export const KEY_HEADER = 'x-account';
export const LOAD_FACTOR = 8;
export const CONCURRENCY = 8;
/** A few hundred distinct keys, cycled by the load. */
export const KEYS: readonly string[] = Array.from({ length: 300 }, (_, i) => `account-${i}`);
const CONFIG = defaultBalancerConfig('ring-hash', LOAD_FACTOR);

/** The flags every identity test gives `serve`, besides the discovery. */
export const SERVE_FLAGS: readonly string[] = ['--listen', '127.0.0.1:0', '--balancer', 'ring-hash', '--bounded-load', String(LOAD_FACTOR), '--key', `header:${KEY_HEADER}`];

/** Pods by name; a name's process may be replaced (a restart at a new port). All closed after the test. */
export class Pods {
  readonly #live = new Map<string, Backend>();

  constructor(t: TestContext) {
    t.after(() => Promise.all([...this.#live.values()].map((b) => b.close())));
  }

  /** Starts a process for `name` on a new port; the name must have none running. */
  async start(name: string): Promise<Backend> {
    assert.ok(!this.#live.has(name), `${name} is running already`);
    const b = await startBackend(name);
    this.#live.set(name, b);
    return b;
  }

  /** Stops `name`'s process as SIGTERM does: requests under way are answered, then its port refuses. */
  async stop(name: string): Promise<void> {
    const b = this.#live.get(name);
    assert.ok(b !== undefined, `${name} is not running`);
    this.#live.delete(name);
    await closeGracefully(b);
  }

  get(name: string): Backend {
    const b = this.#live.get(name);
    assert.ok(b !== undefined, `${name} is not running`);
    return b;
  }
}

/** The headless Service the DNS tests serve, and its SRV name. */
const SVC = 'sharded-svc.default.svc.cluster.local';
export const SRV = `_http._tcp.${SVC}`;

/** `sharded-svc-<i>`: pods are named as a StatefulSet names them. */
export const podName = (i: number): string => `sharded-svc-${i}`;

export interface SrvSetup {
  readonly pods: Pods;
  readonly dns: Dnsmasq;
  readonly served: Served;
  readonly check: IdentityCheck;
  /** The SRV and address records of the running pods `ids`, at their current ports. */
  readonly records: (ids: readonly number[]) => DnsRecords;
  /** The endpoints discovery should report for the running pods `ids`. */
  readonly specs: (ids: readonly number[]) => EndpointSpec[];
}

/**
 * Pods 0 to 3, dnsmasq naming them in SRV records, `shardgate serve --discovery srv:` over them
 * with `workers` threads and `flags` besides SERVE_FLAGS, and the identity check begun.
 */
export async function startSrvSetup(t: TestContext, workers: number, dnsmasq: DnsmasqOptions = {}, flags: readonly string[] = []): Promise<SrvSetup> {
  const pods = new Pods(t);
  const records = (ids: readonly number[]): DnsRecords => ({
    hosts: Object.fromEntries(ids.map((i) => [`${podName(i)}.${SVC}`, ['127.0.0.1']])),
    srv: { [SRV]: ids.map((i) => ({ target: `${podName(i)}.${SVC}`, port: pods.get(podName(i)).port })) },
  });
  const specs = (ids: readonly number[]): EndpointSpec[] => ids.map((i) => specOfPod(pods, podName(i)));
  for (const i of [0, 1, 2, 3]) await pods.start(podName(i));
  const dns = await startDnsmasq(t, records([0, 1, 2, 3]), dnsmasq);
  const served = new Served(t, ['serve', ...SERVE_FLAGS, '--workers', String(workers), '--discovery', `srv:${SRV}`, '--dns-server', dns.server, ...flags]);
  const { port } = await served.address();
  const check = new IdentityCheck(t, port, specs([0, 1, 2, 3]));
  await check.begin();
  return { pods, dns, served, check, records, specs };
}

/** The endpoint of a running pod, as discovery should report it. */
export function specOfPod(pods: Pods, name: string, draining = false): EndpointSpec {
  return { name, address: pods.get(name).address, draining };
}

/** Waits for an `endpoints` log line logged from `from` on that lists exactly `specs`. */
export function endpointsApplied(served: Served, from: number, specs: readonly EndpointSpec[], what: string, timeoutMs = 10_000): Promise<LogLine> {
  const want = specs.map((s) => `${s.name}=${s.address}`).sort();
  return served.waitFor(
    (l) => l.msg === 'endpoints' && served.lines.indexOf(l) >= from && Array.isArray(l.endpoints) && JSON.stringify([...(l.endpoints as string[])].sort()) === JSON.stringify(want),
    `endpoints for ${what} (${want.join(', ')})`,
    timeoutMs,
  );
}

/** Runs the checks above over one proxy and its load. */
export class IdentityCheck {
  readonly load: KeyedLoad;
  #specs: readonly EndpointSpec[];
  #owners: Map<string, string> = new Map();
  readonly #t: TestContext;

  constructor(t: TestContext, port: number, specs: readonly EndpointSpec[]) {
    this.#t = t;
    this.load = new KeyedLoad(`http://127.0.0.1:${port}`, KEYS, { concurrency: CONCURRENCY, header: KEY_HEADER });
    t.after(() => this.load.stop());
    this.#specs = specs;
  }

  /** Starts the load and checks that every key reaches its owner. */
  async begin(): Promise<void> {
    this.load.start();
    const expected = expectedOwners(CONFIG, this.#specs, KEYS);
    const seen = await this.load.snapshot();
    assert.deepEqual(movedKeys(expected, seen), [], 'at the start, every key reaches the pod our balancer names');
    this.#owners = seen;
  }

  /**
   * Makes a change of the pods (`change` resolves once the proxy has applied it) and checks both
   * facts against the endpoints after it (`after`, read once the change is made). Returns the
   * keys that moved.
   */
  async step(what: string, change: () => Promise<void>, after: () => readonly EndpointSpec[]): Promise<string[]> {
    const expectedBefore = expectedOwners(CONFIG, this.#specs, KEYS);
    const completed = this.load.completed;
    await change();
    const specs = after();
    const expectedAfter = expectedOwners(CONFIG, specs, KEYS);
    const seen = await this.load.snapshot();
    assert.deepEqual(this.load.failures, [], `${what}: no request failed`);
    assert.ok(this.load.completed > completed, `${what}: requests flowed during the change`);
    const moved = movedKeys(this.#owners, seen);
    assert.deepEqual(moved, movedKeys(expectedBefore, expectedAfter), `${what}: the keys that moved are exactly those whose owner changed`);
    assert.deepEqual(movedKeys(expectedAfter, seen), [], `${what}: every key reaches the pod our balancer names`);
    this.#specs = specs;
    this.#owners = seen;
    this.#t.diagnostic(`${what}: ${moved.length}/${KEYS.length} keys moved, ${this.load.completed - completed} requests during the step, 0 failed`);
    return moved;
  }

  /**
   * Counts, until `stop()`, the answers to keys that `pod` owned after the last step given by
   * another pod: requests that met it gone and were retried on the key's next owner.
   */
  servedByOthers(pod: string): { stop(): number } {
    let count = 0;
    this.load.watch((key, answered) => {
      if (this.#owners.get(key) === pod && answered !== pod) count++;
    });
    return {
      stop: () => {
        this.load.watch(null);
        return count;
      },
    };
  }

  /**
   * The step every source must pass: pod `name` dies, and a moment later comes back at a new port
   * (`announce` tells discovery and resolves once the proxy has applied it), as a rescheduled pod
   * does. Requests meanwhile meet a refused connection and are retried on the key's next owner;
   * no key moves.
   */
  async restartAtNewAddress(pods: Pods, name: string, announce: () => Promise<void>, after: () => readonly EndpointSpec[]): Promise<void> {
    const oldAddress = pods.get(name).address;
    const elsewhere = this.servedByOthers(name);
    const moved = await this.step(
      `${name} restarts at a new address`,
      async () => {
        await pods.stop(name);
        await new Promise((r) => setTimeout(r, 200));
        await pods.start(name);
        await announce();
      },
      after,
    );
    assert.ok(elsewhere.stop() > 0, 'while the pod was gone, its keys were served by their next owners');
    assert.notEqual(pods.get(name).address, oldAddress);
    assert.deepEqual(moved, [], 'a restart at a new address moves no key');
  }

  /** The owner of each key after the last step, as seen. */
  get owners(): ReadonlyMap<string, string> {
    return this.#owners;
  }
}
