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
 * endpoint moving between slices publishes nothing. A set with an endpoint createEndpointSet
 * refuses (a name no header can carry) is not published: the refusal is reported once, the last
 * set keeps serving, and the watch goes on.
 *
 * With `podLabels`, the pods behind the Service (its `spec.selector`, read again at every relist)
 * are followed by a second list+watch of the same kind, and each endpoint carries those labels of
 * its pod (pod-labels.ts). The pod feed fails alone: the endpoints keep their last labels, its
 * failure is reported once per state like the slices', and readiness follows the slices only.
 *
 * Injected: the cluster connection, timers (backoff and request deadlines) and the randomness of
 * the jitter.
 */
import { createEndpointSet } from '../../balancer/endpoint.js';
import type { EndpointSet } from '../../balancer/endpoint.js';
import { entropyRng } from '../../balancer/rng.js';
import type { Rng } from '../../balancer/rng.js';
import { ConfigError } from '../../errors.js';
import { DiscoveryError, statusOf } from '../endpoint-source.js';
import type { EndpointSource, SourceStatus } from '../endpoint-source.js';
import { realTimers, sameEndpoints } from '../static-file.js';
import type { Timers } from '../static-file.js';
import { ApiClient, namespacePods, serviceSlices } from './api-client.js';
import type { ApiClientOptions, ApiObject, Collection, WatchEvent } from './api-client.js';
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
import { podSelectorOf, withPodLabels } from './pod-labels.js';
import type { Pod, Service } from './pod-labels.js';

/** Also the client's options: requestTimeoutMs, watchIdleSlackMs, listPageSize, and the timers. */
export interface EndpointSliceSourceOptions extends ApiClientOptions {
  readonly rng?: Rng;
  readonly backoff?: BackoffOptions;
  /**
   * How long the server keeps one watch open before ending it cleanly. Kubernetes' own clients
   * pick 5 to 10 minutes; a bounded watch also bounds how long a silently dead connection lasts.
   */
  readonly watchTimeoutSeconds?: number;
  /** Pod labels each endpoint carries (`version`), read from the pods; none are read when empty. */
  readonly podLabels?: readonly string[];
}

export const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;

/**
 * One list+watch and its state: the objects by name, the resourceVersion to resume from, and the
 * failure last reported.
 */
class Feed<T extends ApiObject> {
  readonly objects = new Map<string, T>();
  readonly backoff: Backoff;
  /** What is followed, for messages: `EndpointSlices`, `pods`. */
  readonly what: string;
  /** Where the collection is, asked again before each list. */
  readonly locate: (client: ApiClient, signal: AbortSignal) => Promise<Collection>;
  /** What RBAC must allow, for a 403. */
  readonly access: string;
  collection: Collection | null = null;
  resourceVersion: string | null = null;
  inSync = false;
  failure: string | null = null;

  constructor(what: string, access: string, backoff: Backoff, locate: (client: ApiClient, signal: AbortSignal) => Promise<Collection>) {
    this.what = what;
    this.access = access;
    this.backoff = backoff;
    this.locate = locate;
  }
}

export class EndpointSliceSource implements EndpointSource {
  readonly spec: K8sDiscoverySpec;
  readonly #connection: ClusterConnection;
  readonly #label: string;
  readonly #timers: Timers;
  readonly #watchTimeoutSeconds: number;
  readonly #clientOptions: ApiClientOptions;
  readonly #subscribers = new Subscribers(() => this.#start(), () => this.#stop());
  readonly #slices: Feed<EndpointSlice>;
  readonly #pods: Feed<Pod> | null;
  readonly #podLabels: readonly string[];
  #set: EndpointSet | null = null;
  #problems: string | null = null;
  /** Why the last set built from the slices was refused, or null when it was taken. */
  #refused: string | null = null;
  #run: { readonly abort: AbortController; done: Promise<void> } | null = null;
  readonly #sleeps = new Set<() => void>();

  constructor(spec: K8sDiscoverySpec, connection: ClusterConnection, options: EndpointSliceSourceOptions = {}) {
    this.spec = spec;
    this.#connection = connection;
    this.#label = `${formatK8sDiscoverySpec(spec)} via ${connection.server}`;
    this.#timers = options.timers ?? realTimers;
    const rng = options.rng ?? entropyRng();
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
    this.#clientOptions = { ...options, timers: this.#timers };
    const { namespace, service } = spec;
    const slices = serviceSlices(namespace, service);
    this.#slices = new Feed<EndpointSlice>('EndpointSlices', 'get, list and watch on endpointslices (discovery.k8s.io)', new Backoff(rng, options.backoff), () => Promise.resolve(slices));
    this.#podLabels = [...(options.podLabels ?? [])];
    this.#pods = this.#podLabels.length === 0 ? null : new Feed<Pod>('pods', 'list and watch on pods, and get on services,', new Backoff(rng, options.backoff), async (client, signal) => {
      const found = await client.get<Service>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}`, signal);
      return namespacePods(namespace, podSelectorOf(found));
    });
  }

  /** The last set, or null before the first list. */
  get current(): EndpointSet | null {
    return this.#set;
  }

  /** True while discovery is in sync with the API server: listed, and watching or about to. */
  get ready(): boolean {
    return this.#slices.inSync;
  }

  /** The resourceVersion a watch of the slices resumes from; null before a list or after a 410. */
  get resourceVersion(): string | null {
    return this.#slices.resourceVersion;
  }

  /**
   * The failure being retried (the slices', else the pods'), else why the last set was refused, or
   * null while in sync.
   */
  get lastError(): string | null {
    return this.#slices.failure ?? this.#pods?.failure ?? this.#refused;
  }

  status(): SourceStatus {
    return statusOf(this.#set, this.lastError);
  }

  subscribe(onSet: (set: EndpointSet) => void, onError: (error: DiscoveryError) => void): () => void {
    return this.#subscribers.add(onSet, onError, () => this.#set);
  }

  /** Resolves once the list+watch loops have ended after the last unsubscribe. */
  async closed(): Promise<void> {
    await this.#run?.done;
  }

  #start(): void {
    const abort = new AbortController();
    const client = new ApiClient(this.#connection, this.#clientOptions);
    const run = { abort, done: Promise.resolve() };
    const loops = [this.#follow(this.#slices, client, abort.signal)];
    if (this.#pods !== null) loops.push(this.#follow(this.#pods, client, abort.signal));
    run.done = Promise.all(loops).then(() => undefined).finally(() => client.close());
    this.#run = run;
  }

  #stop(): void {
    this.#run?.abort.abort();
    this.#slices.inSync = false;
    if (this.#pods !== null) this.#pods.inSync = false;
    for (const wake of [...this.#sleeps]) wake();
  }

  async #follow<T extends ApiObject>(feed: Feed<T>, client: ApiClient, signal: AbortSignal): Promise<void> {
    let expiredInARow = 0;
    while (!signal.aborted) {
      let opened = false;
      try {
        if (feed.resourceVersion === null || feed.collection === null) {
          const collection = await feed.locate(client, signal);
          const list = await client.list<T>(collection, signal);
          feed.collection = collection;
          feed.objects.clear();
          for (const o of list.items) feed.objects.set(o.metadata.name, o);
          feed.resourceVersion = list.resourceVersion;
          this.#synced(feed);
          this.#publish();
        }
        await client.watch<T>(feed.collection, feed.resourceVersion, this.#watchTimeoutSeconds, {
          onOpen: () => {
            opened = true;
            this.#synced(feed);
          },
          onEvent: (e) => this.#apply(feed, e),
        }, signal);
        expiredInARow = 0;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ResourceExpiredError) {
          feed.resourceVersion = null;
          // Relist at once; only a server that keeps expiring fresh versions is waited for.
          if (++expiredInARow === 1) continue;
        } else if (!opened) {
          this.#failed(feed, e);
        }
        // A stream that breaks after it opened (a restarted API server, a proxy's idle timeout) is
        // routine and not reported: the state is what the reconnection finds, reported if it fails.
        // The set is as fresh as its last event, so readiness stands meanwhile.
        const asked = e instanceof ApiStatusError && e.retryAfterSeconds !== null ? e.retryAfterSeconds * 1000 : 0;
        await this.#wait(feed.backoff.nextDelayMs(asked));
      }
    }
  }

  #apply<T extends ApiObject>(feed: Feed<T>, e: WatchEvent<T>): void {
    if (e.type === 'BOOKMARK') {
      feed.resourceVersion = e.object.metadata.resourceVersion;
      return;
    }
    if (e.type === 'DELETED') feed.objects.delete(e.object.metadata.name);
    else feed.objects.set(e.object.metadata.name, e.object);
    feed.resourceVersion = e.object.metadata.resourceVersion ?? feed.resourceVersion;
    this.#publish();
  }

  #synced(feed: Feed<ApiObject>): void {
    feed.backoff.reset();
    feed.inSync = true;
    feed.failure = null;
  }

  #publish(): void {
    // Before the slices are listed there is nothing to label: pods alone publish no (empty) set.
    if (this.#slices.resourceVersion === null && this.#set === null) return;
    // Nor does a first set wait without its labels: subsets would route by labels not yet known.
    if (this.#set === null && this.#pods !== null && this.#pods.resourceVersion === null) return;
    const { endpoints, problems } = endpointsFromSlices(this.#slices.objects.values(), this.spec.portName);
    const problemText = problems.length === 0 ? null : problems.join('; ');
    if (problemText !== null && problemText !== this.#problems) this.#emitError(new DiscoveryError(this.#label, `${this.#label}: ${problemText}`));
    this.#problems = problemText;
    const labelled = this.#pods === null ? endpoints : withPodLabels(endpoints, this.#pods.objects, this.#podLabels);
    let set: EndpointSet;
    try {
      set = createEndpointSet(labelled, (this.#set?.version ?? 0) + 1, formatK8sDiscoverySpec(this.spec));
    } catch (e) {
      // An endpoint the proxy cannot take (a name no header can carry): the set is refused, and
      // the watch goes on, since the next event may well mend it.
      if (!(e instanceof ConfigError)) throw e;
      this.#refuse(e);
      return;
    }
    this.#refused = null;
    if (this.#set !== null && sameEndpoints(this.#set, set)) return;
    this.#set = set;
    this.#subscribers.publish(set);
  }

  #failed(feed: Feed<ApiObject>, e: unknown): void {
    feed.inSync = false;
    const state = failureState(e);
    if (state === feed.failure) return;
    feed.failure = state;
    const detail = e instanceof Error ? e.message : String(e);
    const advice = !(e instanceof ApiStatusError) ? ''
      : e.status === 401 ? ': the credential was refused: check the service account token, or the kubeconfig user\'s token, certificate or exec plugin'
      : e.status === 403 ? `: check that the service account's RBAC allows ${feed.access} in namespace ${this.spec.namespace} (a Role and RoleBinding)`
      : '';
    const held = feed !== this.#slices ? 'the endpoints keep their last pod labels' : this.#held();
    const what = feed === this.#slices ? '' : `${feed.what}: `;
    this.#emitError(new DiscoveryError(this.#label, `${this.#label}: ${what}${detail}${advice}; retrying with backoff, ${held}`, e));
  }

  /** Reports a set createEndpointSet refused, once until the refusal changes or a set is taken. */
  #refuse(e: ConfigError): void {
    if (e.message === this.#refused) return;
    this.#refused = e.message;
    this.#emitError(new DiscoveryError(this.#label, `${this.#label}: ${e.message}; the set is refused, ${this.#held()}`, e));
  }

  /** What keeps serving while the source has a problem, for its messages. */
  #held(): string {
    const kept = this.#set;
    return kept === null ? 'no endpoints yet' : `still serving the previous set (version ${kept.version}, ${kept.endpoints.length} endpoints)`;
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#timers.clearTimeout(timer);
        this.#sleeps.delete(wake);
        resolve();
      };
      const timer = this.#timers.setTimeout(wake, ms);
      this.#sleeps.add(wake);
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
