/**
 * A fake Kubernetes API server on loopback that speaks the real wire protocol for EndpointSlices and
 * Pods, over HTTP or TLS: bearer tokens (or, when asked, client certificates) checked (401 with a Status
 * body otherwise), list with metadata.resourceVersion, and watch as a chunked stream of
 * newline-delimited JSON events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) from a
 * resourceVersion, ended at timeoutSeconds.
 * An expired resourceVersion gets either real answer: an HTTP 410 Status, or a 200 whose stream
 * carries an ERROR event with code 410 and then ends.
 *
 * Lists are paged as the real server pages them (`limit`, `continue`, `metadata.remainingItemCount`),
 * every page from one snapshot; a continue token that has expired gets a 410 Status.
 *
 * The store holds slices under one global resourceVersion counter and a history of changes, so a
 * watch from an old version replays what it missed. Fault knobs: cut open watches mid-event,
 * compact the history, send bookmarks, change the accepted token, go down and come back on the
 * same port, answer the next requests with an error Status (429, 500, 503, 403, with Retry-After),
 * stall (take requests and never answer; open watches go silent and never end), expire continue
 * tokens. Nodes can be read one by one (GET /api/v1/nodes/NAME) for their zone label, Services
 * (GET /api/v1/namespaces/NS/services/NAME) for their selector. Enough
 * discovery (/version, /api, /apis) for kubectl and @kubernetes/client-node. Test use only.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { TEST_CERT, TEST_KEY } from './tls-fixture.js';

export interface FakeSlice {
  kind?: string;
  apiVersion?: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; resourceVersion?: string; uid?: string; creationTimestamp?: string; generation?: number };
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: FakeEndpoint[] | null;
  ports: { name?: string; port: number; protocol?: string }[] | null;
}

export interface FakePod {
  kind?: string;
  apiVersion?: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; resourceVersion?: string; uid?: string; creationTimestamp?: string };
}

/** What the store holds and watches follow. */
type FakeObject = FakeSlice | FakePod;

/** The collections served, by the kind of their objects. */
type Resource = 'endpointslices' | 'pods';
const KIND: Readonly<Record<Resource, string>> = { endpointslices: 'EndpointSlice', pods: 'Pod' };
const API_VERSION: Readonly<Record<Resource, string>> = { endpointslices: 'discovery.k8s.io/v1', pods: 'v1' };

export interface FakeEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: { kind: string; name: string; namespace: string; uid?: string };
  nodeName?: string;
  zone?: string;
}

interface HistoryEntry {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: FakeObject;
}

interface OpenWatch {
  readonly res: ServerResponse;
  readonly resource: Resource;
  readonly namespace: string;
  readonly selector: ReadonlyMap<string, string>;
  readonly timer: NodeJS.Timeout;
  /** Stalled: no events, no bookmarks, no end at timeoutSeconds (a silently dead connection). */
  frozen: boolean;
}

/** A paged list's snapshot, kept for its continue token. */
interface ListSnapshot {
  readonly rv: number;
  readonly items: readonly FakeObject[];
}

export interface FailOptions {
  /** Sent as the Retry-After header and the Status's details.retryAfterSeconds. */
  readonly retryAfterSeconds?: number;
}

export interface FakeApiServerOptions {
  readonly tls?: boolean;
  /** The accepted bearer token; null accepts requests without one. */
  readonly token?: string | null;
  /** Over TLS: also accept a client certificate signed by TEST_CA instead of the token, as x509 client auth. */
  readonly clientCertificates?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

export class FakeApiServer {
  readonly tls: boolean;
  /** The CA a client must trust over TLS. */
  readonly ca = TEST_CERT;
  token: string | null;
  /** How a watch from a compacted resourceVersion is refused. */
  expiredForm: 'http' | 'event' = 'http';
  readonly requests: RecordedRequest[] = [];
  readonly #clientCertificates: boolean;
  #server: Server;
  #port = 0;
  #rv = 1000;
  #compactedBelow = 0;
  /** By `KIND/NAMESPACE/NAME`. */
  readonly #objects = new Map<string, FakeObject>();
  readonly #services = new Map<string, Record<string, string> | null>();
  readonly #history: HistoryEntry[] = [];
  readonly #watches = new Set<OpenWatch>();
  readonly #sockets = new Set<Socket>();
  #watchWaiters: { readonly count: number; readonly resolve: () => void }[] = [];
  #watchesStarted = 0;
  readonly #nodes = new Map<string, Record<string, string>>();
  readonly #snapshots = new Map<string, ListSnapshot>();
  #nextSnapshot = 1;
  #expireContinues = 0;
  #failures: { count: number; readonly code: number; readonly retryAfterSeconds: number | null } | null = null;
  #stalled = false;

  private constructor(options: FakeApiServerOptions) {
    this.tls = options.tls ?? false;
    this.#clientCertificates = options.clientCertificates ?? false;
    this.token = options.token === undefined ? 'test-token' : options.token;
    this.#server = this.#createServer();
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(options);
    await s.#listen(0);
    return s;
  }

  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Watches open now. */
  get openWatches(): number {
    return this.#watches.size;
  }

  /** Resolves once `count` watches have been started since the server was created. */
  watchesStarted(count: number): Promise<void> {
    if (this.#watchesStarted >= count) return Promise.resolve();
    return new Promise((resolve) => this.#watchWaiters.push({ count, resolve }));
  }

  /** Creates or replaces a slice; watchers get ADDED or MODIFIED. Returns the new resourceVersion. */
  apply(slice: FakeSlice): string {
    return this.#put('endpointslices', slice);
  }

  /** Deletes a slice; watchers get DELETED with its last state. */
  delete(namespace: string, name: string): string {
    return this.#remove('endpointslices', namespace, name);
  }

  /** Creates or replaces a pod (its labels are what matters); watchers get ADDED or MODIFIED. */
  applyPod(pod: FakePod): string {
    return this.#put('pods', pod);
  }

  /** Deletes a pod; watchers get DELETED with its last state. */
  deletePod(namespace: string, name: string): string {
    return this.#remove('pods', namespace, name);
  }

  /** Creates or replaces a Service with this pod selector (null: none), for GET .../services/NAME. */
  setService(namespace: string, name: string, selector: Record<string, string> | null): void {
    this.#services.set(`${namespace}/${name}`, selector === null ? null : { ...selector });
  }

  #put(resource: Resource, object: FakeObject): string {
    const key = `${KIND[resource]}/${object.metadata.namespace}/${object.metadata.name}`;
    const type = this.#objects.has(key) ? 'MODIFIED' : 'ADDED';
    const rv = ++this.#rv;
    const stored: FakeObject = structuredClone({ ...object, kind: KIND[resource], apiVersion: API_VERSION[resource] });
    stored.metadata.resourceVersion = String(rv);
    stored.metadata.uid ??= `uid-${object.metadata.name}`;
    stored.metadata.creationTimestamp ??= '2026-01-01T00:00:00Z';
    this.#objects.set(key, stored);
    this.#record({ rv, type, object: stored });
    return String(rv);
  }

  #remove(resource: Resource, namespace: string, name: string): string {
    const key = `${KIND[resource]}/${namespace}/${name}`;
    const had = this.#objects.get(key);
    if (had === undefined) throw new Error(`fake apiserver: no ${resource} ${namespace}/${name}`);
    this.#objects.delete(key);
    const rv = ++this.#rv;
    const object = structuredClone(had);
    object.metadata.resourceVersion = String(rv);
    this.#record({ rv, type: 'DELETED', object });
    return String(rv);
  }

  /** Advances the resourceVersion with a change elsewhere (another Service), as a busy cluster does. */
  unrelatedChange(): string {
    return String(++this.#rv);
  }

  /** Sends a BOOKMARK at the current resourceVersion to every open watch. */
  bookmark(): void {
    const metadata = { resourceVersion: String(this.#rv) };
    for (const w of this.#watches) if (!w.frozen) w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: KIND[w.resource], apiVersion: API_VERSION[w.resource], metadata } }) + '\n');
  }

  /** Drops the history: a watch from any version before now is refused as expired. */
  compact(): void {
    this.#compactedBelow = this.#rv;
    this.#history.length = 0;
  }

  /** Ends every open watch (of `resource`, when given) with an ERROR 410 event, as a server does when a watcher falls too far behind. */
  expireWatches(resource?: Resource): void {
    for (const w of [...this.#watches]) {
      if (resource !== undefined && w.resource !== resource) continue;
      w.res.end(JSON.stringify({ type: 'ERROR', object: expiredStatus(this.#rv - 1, this.#rv) }) + '\n');
      this.#closeWatch(w);
    }
  }

  /** Cuts every open watch (of `resource`, when given) in the middle of an event: half a JSON line, then the socket is destroyed. */
  cutWatches(resource?: Resource): void {
    for (const w of [...this.#watches]) {
      if (resource !== undefined && w.resource !== resource) continue;
      w.res.write('{"type":"MODIFIED","object":{"kind":"Endpoi');
      this.#closeWatch(w);
      w.res.socket?.destroy();
    }
  }

  /**
   * Answers the next `count` resource requests (lists, watches, node and Service reads) with a Status of `code`
   * (429, 500, 503, 403...), as an overloaded or misconfigured server does.
   */
  failNext(count: number, code: number, options: FailOptions = {}): void {
    this.#failures = { count, code, retryAfterSeconds: options.retryAfterSeconds ?? null };
  }

  /**
   * On: resource requests are accepted and never answered, and open watches go silent (no events,
   * no bookmarks, no end at timeoutSeconds), as behind a dead load balancer. Off: new requests are
   * served again; the watches that went silent stay so until their clients leave.
   */
  stall(on: boolean): void {
    this.#stalled = on;
    if (!on) return;
    for (const w of this.#watches) {
      w.frozen = true;
      clearTimeout(w.timer);
    }
  }

  /** The next `count` list requests carrying a continue token get 410 Expired, as after etcd compaction. */
  expireContinues(count = 1): void {
    this.#expireContinues = count;
  }

  /** Creates or replaces a Node with these labels, for GET /api/v1/nodes/NAME. */
  setNode(name: string, labels: Record<string, string>): void {
    this.#nodes.set(name, { ...labels });
  }

  /** Stops listening and drops every connection, keeping the store: the API server is down. */
  async goDown(): Promise<void> {
    for (const w of [...this.#watches]) this.#closeWatch(w);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port with the same store. */
  async comeBack(): Promise<void> {
    this.#server = this.#createServer();
    await this.#listen(this.#port);
  }

  async close(): Promise<void> {
    if (this.#server.listening) await this.goDown();
  }

  #createServer(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res);
    const clientAuth = this.#clientCertificates ? { requestCert: true, rejectUnauthorized: false, ca: TEST_CERT } : {};
    const server = this.tls ? createHttpsServer({ cert: TEST_CERT, key: TEST_KEY, ...clientAuth }, handler) : createHttpServer(handler);
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    // TLS connections are tracked at the TCP level above; this covers the TLS socket's own close.
    server.on('secureConnection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    return server;
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #record(entry: HistoryEntry): void {
    this.#history.push(entry);
    for (const w of this.#watches) {
      if (!w.frozen && matches(entry.object, w.resource, w.namespace, w.selector)) w.res.write(JSON.stringify({ type: entry.type, object: entry.object }) + '\n');
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams });
    const certified = this.#clientCertificates && (req.socket as TLSSocket).authorized;
    if (this.token !== null && !certified && req.headers.authorization !== `Bearer ${this.token}`) {
      sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const path = url.pathname.replace(/\/+$/, '');
    if (req.method !== 'GET') {
      sendJson(res, 405, status(405, 'MethodNotAllowed', `the fake API server serves only GET, not ${req.method}`));
      return;
    }
    const discovery = discoveryDocument(path);
    if (discovery !== null) {
      sendJson(res, 200, discovery);
      return;
    }
    const node = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    const service = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)$/.exec(path);
    const m = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/(endpointslices)$/.exec(path) ?? /^\/api\/v1\/namespaces\/([^/]+)\/(pods)$/.exec(path);
    if (m === null && node === null && service === null) {
      sendJson(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${path})`));
      return;
    }
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    if (this.#failures !== null && this.#failures.count > 0) {
      const { code, retryAfterSeconds } = this.#failures;
      if (--this.#failures.count === 0) this.#failures = null;
      const target: FailedTarget = node !== null
        ? { verb: 'get', resource: 'nodes', group: '', name: decodeURIComponent(node[1]!), namespace: null }
        : service !== null
          ? { verb: 'get', resource: 'services', group: '', name: decodeURIComponent(service[2]!), namespace: decodeURIComponent(service[1]!) }
          : { verb: watching ? 'watch' : 'list', resource: m![2]!, group: m![2] === 'pods' ? '' : 'discovery.k8s.io', name: null, namespace: decodeURIComponent(m![1]!) };
      sendFailure(res, code, retryAfterSeconds, target);
      return;
    }
    if (this.#stalled) {
      // Taken and never answered; the socket goes when the client gives up or the server goes down.
      return;
    }
    if (node !== null) {
      this.#node(res, decodeURIComponent(node[1]!));
      return;
    }
    if (service !== null) {
      this.#service(res, decodeURIComponent(service[1]!), decodeURIComponent(service[2]!));
      return;
    }
    const resource = m![2] as Resource;
    const namespace = decodeURIComponent(m![1]!);
    const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
    if (watching) this.#watch(req, res, url.searchParams, resource, namespace, selector);
    else this.#list(res, url.searchParams, resource, namespace, selector);
  }

  #service(res: ServerResponse, namespace: string, name: string): void {
    const selector = this.#services.get(`${namespace}/${name}`);
    if (selector === undefined) {
      sendJson(res, 404, { ...status(404, 'NotFound', `services "${name}" not found`), details: { name, kind: 'services' } });
      return;
    }
    const spec = selector === null ? { type: 'ClusterIP' } : { type: 'ClusterIP', selector };
    sendJson(res, 200, { kind: 'Service', apiVersion: 'v1', metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: String(this.#rv), creationTimestamp: '2026-01-01T00:00:00Z' }, spec, status: {} });
  }

  #node(res: ServerResponse, name: string): void {
    const labels = this.#nodes.get(name);
    if (labels === undefined) {
      sendJson(res, 404, { ...status(404, 'NotFound', `nodes "${name}" not found`), details: { name, kind: 'nodes' } });
      return;
    }
    sendJson(res, 200, { kind: 'Node', apiVersion: 'v1', metadata: { name, uid: `uid-${name}`, resourceVersion: String(this.#rv), creationTimestamp: '2026-01-01T00:00:00Z', labels }, spec: {}, status: {} });
  }

  /**
   * A list, paged when asked (`limit`): the first page takes a snapshot that later pages read
   * through the continue token, so every page is at the first page's resourceVersion.
   */
  #list(res: ServerResponse, query: URLSearchParams, resource: Resource, namespace: string, selector: ReadonlyMap<string, string>): void {
    const limitText = query.get('limit');
    const limit = limitText === null || limitText === '' ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) {
      sendJson(res, 400, status(400, 'BadRequest', `invalid limit ${JSON.stringify(limitText)}`));
      return;
    }
    const token = query.get('continue') ?? '';
    let snapshot: ListSnapshot;
    let offset = 0;
    if (token === '') {
      snapshot = { rv: this.#rv, items: [...this.#objects.values()].filter((s) => matches(s, resource, namespace, selector)).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)) };
    } else {
      const [id, at] = token.split(':');
      const kept = this.#snapshots.get(id ?? '');
      if (this.#expireContinues > 0 || kept === undefined) {
        if (this.#expireContinues > 0) this.#expireContinues--;
        this.#snapshots.delete(id ?? '');
        // The real server's words for a continue token older than the compacted history.
        sendJson(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'));
        return;
      }
      snapshot = kept;
      offset = Number(at);
    }
    const end = limit === 0 ? snapshot.items.length : Math.min(snapshot.items.length, offset + limit);
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.rv) };
    if (end < snapshot.items.length) {
      const id = token === '' ? String(this.#nextSnapshot++) : token.split(':')[0]!;
      this.#snapshots.set(id, snapshot);
      metadata['continue'] = `${id}:${end}`;
      metadata['remainingItemCount'] = snapshot.items.length - end;
    } else if (token !== '') {
      this.#snapshots.delete(token.split(':')[0]!);
    }
    sendJson(res, 200, { kind: `${KIND[resource]}List`, apiVersion: API_VERSION[resource], metadata, items: snapshot.items.slice(offset, end) });
  }

  #watch(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, resource: Resource, namespace: string, selector: ReadonlyMap<string, string>): void {
    const rvText = query.get('resourceVersion') ?? '';
    const from = rvText === '' || rvText === '0' ? null : Number(rvText);
    if (from !== null && !Number.isInteger(from)) {
      sendJson(res, 400, status(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(rvText)}`));
      return;
    }
    if (from !== null && from < this.#compactedBelow) {
      if (this.expiredForm === 'http') {
        sendJson(res, 410, expiredStatus(from, this.#compactedBelow));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.end(JSON.stringify({ type: 'ERROR', object: expiredStatus(from, this.#compactedBelow) }) + '\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '1800');
    const w: OpenWatch = { res, resource, namespace, selector, timer: setTimeout(() => this.#closeWatch(w, true), timeoutSeconds * 1000), frozen: false };
    this.#watches.add(w);
    req.on('close', () => this.#closeWatch(w));
    if (from === null) {
      // No version: the current state as synthetic ADDED events, as the real server does.
      for (const s of this.#objects.values()) if (matches(s, resource, namespace, selector)) res.write(JSON.stringify({ type: 'ADDED', object: s }) + '\n');
    } else {
      for (const e of this.#history) if (e.rv > from && matches(e.object, resource, namespace, selector)) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    }
    this.#watchesStarted++;
    const ready = this.#watchWaiters.filter((x) => x.count <= this.#watchesStarted);
    this.#watchWaiters = this.#watchWaiters.filter((x) => x.count > this.#watchesStarted);
    for (const x of ready) x.resolve();
  }

  #closeWatch(w: OpenWatch, end = false): void {
    if (!this.#watches.delete(w)) return;
    clearTimeout(w.timer);
    if (end) w.res.end();
  }
}

function matches(s: FakeObject, resource: Resource, namespace: string, selector: ReadonlyMap<string, string>): boolean {
  if (s.kind !== KIND[resource] || s.metadata.namespace !== namespace) return false;
  for (const [k, v] of selector) if (s.metadata.labels[k] !== v) return false;
  return true;
}

/** Equality selectors only (`a=b,c==d`), which is all discovery sends. */
function parseSelector(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const m = /^\s*([^=!\s]+)\s*==?\s*([^\s]*)\s*$/.exec(part);
    if (m === null) throw new Error(`fake apiserver: unsupported label selector ${JSON.stringify(part)}`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

interface FailedTarget {
  readonly verb: string;
  readonly resource: string;
  readonly group: string;
  readonly name: string | null;
  readonly namespace: string | null;
}

/** A failure as the real server words it: the Status reason and message for each code. */
function sendFailure(res: ServerResponse, code: number, retryAfterSeconds: number | null, target: FailedTarget): void {
  const { verb, resource, group, name, namespace } = target;
  const what = `${group === '' ? resource : `${resource}.${group}`}${name === null ? '' : ` "${name}"`}`;
  const where = namespace === null ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  const [reason, message] = code === 403 ? ['Forbidden', `${what} is forbidden: User "system:serviceaccount:default:shardgate" cannot ${verb} resource "${resource}" in API group "${group}" ${where}`]
    : code === 429 ? ['TooManyRequests', 'Too many requests, please try again later.']
    : code === 503 ? ['ServiceUnavailable', 'the server is currently unable to handle the request']
    : code === 500 ? ['InternalError', 'Internal error occurred: the fake API server failed as told']
    : ['Unknown', `failing with ${code} as told`];
  const body: Record<string, unknown> = { ...status(code, reason, message) };
  if (retryAfterSeconds !== null) body['details'] = { retryAfterSeconds };
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(retryAfterSeconds === null ? {} : { 'retry-after': String(retryAfterSeconds) }) });
  res.end(text);
}

function expiredStatus(from: number, oldest: number): object {
  return status(410, 'Expired', `too old resource version: ${from} (${oldest})`);
}

function sendJson(res: ServerResponse, code: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The legacy (unaggregated) discovery documents kubectl reads before it lists. */
function discoveryDocument(path: string): object | null {
  switch (path) {
    case '/version':
      return { major: '1', minor: '32', gitVersion: 'v1.32.0-fake', platform: 'linux/amd64' };
    case '/api':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] };
    case '/api/v1':
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'] },
          { name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: ['get'], shortNames: ['no'] },
          { name: 'services', singularName: 'service', namespaced: true, kind: 'Service', verbs: ['get'], shortNames: ['svc'] },
        ],
      };
    case '/apis':
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [{ name: 'discovery.k8s.io', versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' } }],
      };
    case '/apis/discovery.k8s.io/v1':
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'discovery.k8s.io/v1',
        resources: [{ name: 'endpointslices', singularName: 'endpointslice', namespaced: true, kind: 'EndpointSlice', verbs: ['get', 'list', 'watch'], shortNames: [] }],
      };
    default:
      return null;
  }
}

/** A slice of Service `service` with the given endpoints and one TCP port per entry of `ports`. */
export function slice(namespace: string, service: string, name: string, endpoints: FakeEndpoint[], ports: Record<string, number> = { http: 8080 }, addressType: FakeSlice['addressType'] = 'IPv4'): FakeSlice {
  return {
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    endpoints,
    ports: Object.entries(ports).map(([portName, port]) => ({ name: portName, port, protocol: 'TCP' })),
  };
}

/** A pod of `namespace` with these labels. */
export function pod(namespace: string, name: string, labels: Record<string, string>): FakePod {
  return { metadata: { name, namespace, labels } };
}

/** A pod's endpoint: ready unless told, named by its pod, with a zone and node. */
export function podEndpoint(pod: string, ip: string, extra: Partial<FakeEndpoint> = {}): FakeEndpoint {
  return {
    addresses: [ip],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: 'Pod', name: pod, namespace: 'default' },
    nodeName: 'node-a',
    zone: 'zone-a',
    ...extra,
  };
}
