/**
 * Endpoints from a Kubernetes Service's EndpointSlices: list, then watch from the list's
 * resourceVersion, carried forward by every event and bookmark; an expired resourceVersion (410,
 * either form) is answered with a fresh list, which replaces the slices whole (so deletions missed
 * meanwhile are not kept). Any other failure reconnects after a jittered exponential backoff.
 *
 * Static stability: while the API server is unreachable, overloaded, stalled, or refuses the
 * credential (or an exec credential plugin fails), the last set keeps serving; the failure goes to
 * `onError` once per change of state (not once per retry), and `ready` is false until a list or
 * watch succeeds again. A watch that breaks after it opened is retried without a report. A server
 * that asks for a wait (Retry-After, with 429 and some 503s) gets at least that wait, up to the
 * backoff's maximum. A list that does not complete, or a watch silent past its timeoutSeconds plus a
 * slack, is abandoned and retried: a dead connection must not freeze discovery. A new set is
 * published only when the merged endpoints changed: a bookmark, a relist of the same slices, or an
 * endpoint moving between slices publishes nothing.
 *
 * Injected: the cluster connection, timers (backoff and request deadlines) and the randomness of
 * the jitter.
 */
import { createEndpointSet } from '../../balancer/endpoint.js';
import type { EndpointSet } from '../../balancer/endpoint.js';
import { entropyRng } from '../../balancer/rng.js';
import type { Rng } from '../../balancer/rng.js';
import { DiscoveryError, statusOf } from '../endpoint-source.js';
import type { EndpointSource, SourceStatus } from '../endpoint-source.js';
import { realTimers, sameEndpoints } from '../static-file.js';
import type { Timers } from '../static-file.js';
import { EndpointSliceClient } from './api-client.js';
import type { ApiClientOptions, WatchEvent } from './api-client.js';
import { ApiStatusError, ResourceExpiredError } from './api-status-error.js';
import { Backoff } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import type { ClusterConnection } from './cluster-connection.js';
import { formatK8sDiscoverySpec } from './discovery-spec.js';
import type { K8sDiscoverySpec } from './discovery-spec.js';
import { endpointsFromSlices } from './endpoint-slice.js';
import { ExecCredentialError } from './exec-credential.js';
import { RequestTimeoutError } from './request-deadline.js';
import { Subscribers } from '../subscribers.js';
import type { EndpointSlice } from './endpoint-slice.js';

/** Also the client's options: requestTimeoutMs, watchIdleSlackMs, listPageSize, and the timers. */
export interface EndpointSliceSourceOptions extends ApiClientOptions {
  readonly rng?: Rng;
  readonly backoff?: BackoffOptions;
  /**
   * How long the server keeps one watch open before ending it cleanly. Kubernetes' own clients
   * pick 5 to 10 minutes; a bounded watch also bounds how long a silently dead connection lasts.
   */
  readonly watchTimeoutSeconds?: number;
}

export const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;

export class EndpointSliceSource implements EndpointSource {
  readonly spec: K8sDiscoverySpec;
  readonly #connection: ClusterConnection;
  readonly #label: string;
  readonly #timers: Timers;
  readonly #backoff: Backoff;
  readonly #watchTimeoutSeconds: number;
  readonly #clientOptions: ApiClientOptions;
  readonly #subscribers = new Subscribers(() => this.#start(), () => this.#stop());
  readonly #slices = new Map<string, EndpointSlice>();
  #set: EndpointSet | null = null;
  #resourceVersion: string | null = null;
  #inSync = false;
  /** The failure state last reported, so a failure repeating on every retry is reported once. */
  #failure: string | null = null;
  #problems: string | null = null;
  #run: { readonly abort: AbortController; done: Promise<void> } | null = null;
  #sleep: { readonly timer: NodeJS.Timeout; readonly wake: () => void } | null = null;

  constructor(spec: K8sDiscoverySpec, connection: ClusterConnection, options: EndpointSliceSourceOptions = {}) {
    this.spec = spec;
    this.#connection = connection;
    this.#label = `${formatK8sDiscoverySpec(spec)} via ${connection.server}`;
    this.#timers = options.timers ?? realTimers;
    this.#backoff = new Backoff(options.rng ?? entropyRng(), options.backoff);
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
    this.#clientOptions = { ...options, timers: this.#timers };
  }

  /** The last set, or null before the first list. */
  get current(): EndpointSet | null {
    return this.#set;
  }

  /** True while discovery is in sync with the API server: listed, and watching or about to. */
  get ready(): boolean {
    return this.#inSync;
  }

  /** The resourceVersion a watch resumes from; null before a list or after a 410. */
  get resourceVersion(): string | null {
    return this.#resourceVersion;
  }

  /** The failure being retried, or null while in sync. */
  get lastError(): string | null {
    return this.#failure;
  }

  status(): SourceStatus {
    return statusOf(this.#set, this.#failure);
  }

  subscribe(onSet: (set: EndpointSet) => void, onError: (error: DiscoveryError) => void): () => void {
    return this.#subscribers.add(onSet, onError, () => this.#set);
  }

  /** Resolves once the list+watch loop has ended after the last unsubscribe. */
  async closed(): Promise<void> {
    await this.#run?.done;
  }

  #start(): void {
    const abort = new AbortController();
    const client = new EndpointSliceClient(this.#connection, this.#clientOptions);
    const run = { abort, done: Promise.resolve() };
    run.done = this.#loop(client, abort.signal).finally(() => client.close());
    this.#run = run;
  }

  #stop(): void {
    this.#run?.abort.abort();
    this.#inSync = false;
    this.#sleep?.wake();
  }

  async #loop(client: EndpointSliceClient, signal: AbortSignal): Promise<void> {
    const { namespace, service } = this.spec;
    let expiredInARow = 0;
    while (!signal.aborted) {
      let opened = false;
      try {
        if (this.#resourceVersion === null) {
          const list = await client.list(namespace, service, signal);
          this.#slices.clear();
          for (const s of list.items) this.#slices.set(s.metadata.name, s);
          this.#resourceVersion = list.resourceVersion;
          this.#synced();
          this.#publish();
        }
        await client.watch(namespace, service, this.#resourceVersion, this.#watchTimeoutSeconds, {
          onOpen: () => {
            opened = true;
            this.#synced();
          },
          onEvent: (e) => this.#apply(e),
        }, signal);
        expiredInARow = 0;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ResourceExpiredError) {
          this.#resourceVersion = null;
          // Relist at once; only a server that keeps expiring fresh versions is waited for.
          if (++expiredInARow === 1) continue;
        } else if (!opened) {
          this.#failed(e);
        }
        // A stream that breaks after it opened (a restarted API server, a proxy's idle timeout) is
        // routine and not reported: the state is what the reconnection finds, reported if it fails.
        // The set is as fresh as its last event, so readiness stands meanwhile.
        const asked = e instanceof ApiStatusError && e.retryAfterSeconds !== null ? e.retryAfterSeconds * 1000 : 0;
        await this.#wait(this.#backoff.nextDelayMs(asked));
      }
    }
  }

  #apply(e: WatchEvent): void {
    if (e.type === 'BOOKMARK') {
      this.#resourceVersion = e.object.metadata.resourceVersion;
      return;
    }
    if (e.type === 'DELETED') this.#slices.delete(e.object.metadata.name);
    else this.#slices.set(e.object.metadata.name, e.object);
    this.#resourceVersion = e.object.metadata.resourceVersion ?? this.#resourceVersion;
    this.#publish();
  }

  #synced(): void {
    this.#backoff.reset();
    this.#inSync = true;
    this.#failure = null;
  }

  #publish(): void {
    const { endpoints, problems } = endpointsFromSlices(this.#slices.values(), this.spec.portName);
    const problemText = problems.length === 0 ? null : problems.join('; ');
    if (problemText !== null && problemText !== this.#problems) this.#emitError(new DiscoveryError(this.#label, `${this.#label}: ${problemText}`));
    this.#problems = problemText;
    const set = createEndpointSet(endpoints, (this.#set?.version ?? 0) + 1, formatK8sDiscoverySpec(this.spec));
    if (this.#set !== null && sameEndpoints(this.#set, set)) return;
    this.#set = set;
    this.#subscribers.publish(set);
  }

  #failed(e: unknown): void {
    this.#inSync = false;
    const state = failureState(e);
    if (state === this.#failure) return;
    this.#failure = state;
    const kept = this.#set;
    const detail = e instanceof Error ? e.message : String(e);
    const advice = !(e instanceof ApiStatusError) ? ''
      : e.status === 401 ? ': the credential was refused: check the service account token, or the kubeconfig user\'s token, certificate or exec plugin'
      : e.status === 403 ? `: check that the service account's RBAC allows get, list and watch on endpointslices (discovery.k8s.io) in namespace ${this.spec.namespace} (a Role and RoleBinding)`
      : '';
    const held = kept === null ? 'no endpoints yet' : `still serving the previous set (version ${kept.version}, ${kept.endpoints.length} endpoints)`;
    this.#emitError(new DiscoveryError(this.#label, `${this.#label}: ${detail}${advice}; retrying with backoff, ${held}`, e));
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#timers.clearTimeout(timer);
        this.#sleep = null;
        resolve();
      };
      const timer = this.#timers.setTimeout(wake, ms);
      this.#sleep = { timer, wake };
    });
  }

  #emitError(error: DiscoveryError): void {
    this.#subscribers.report(error);
  }
}

/** A name for the kind of failure: equal names are one state, reported once. */
function failureState(e: unknown): string {
  if (e instanceof ApiStatusError) return `status ${e.status}`;
  if (e instanceof ExecCredentialError) return `exec ${e.user} ${e.failure}`;
  if (e instanceof RequestTimeoutError) return `timeout ${e.what}`;
  const code = (e as { code?: unknown } | null)?.code ?? (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' ? `network ${code}` : `error ${e instanceof Error ? e.message : String(e)}`;
}
