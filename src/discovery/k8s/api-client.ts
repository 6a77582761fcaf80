/**
 * The API calls discovery makes: list a collection (the EndpointSlices of one Service, or the pods
 * of its selector), watch it from a resourceVersion as a stream of newline-delimited JSON events
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes),
 * and get one object (the Service).
 *
 * Lists are paged (`limit`, `continue`; https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks)
 * so that a Service with thousands of slices never makes one huge response; the pages are merged
 * and the list takes the first page's resourceVersion, as client-go's pager does. A continue token
 * that has expired (410, when paging outlasts the server's history) makes the pager list again
 * whole, in one request without `limit`, again as client-go's pager does.
 *
 * Watches request bookmarks, so the resourceVersion to resume from stays recent even when nothing
 * changes. An expired resourceVersion comes back in either of its two forms (an HTTP 410, or a 200
 * whose stream carries an ERROR event with code 410); both become `ResourceExpiredError`.
 *
 * Deadlines, on injected timers: each list request must complete within `requestTimeoutMs`; a
 * watch must get its response headers within it, and then may stay silent for at most its
 * timeoutSeconds plus `watchIdleSlackMs` (the server ends it at timeoutSeconds and sends bookmarks
 * meanwhile, so a longer silence is a dead connection).
 */
import { realTimers } from '../static-file.js';
import type { Timers } from '../static-file.js';
import { ResourceExpiredError, statusError } from './api-status-error.js';
import type { StatusObject } from './api-status-error.js';
import { ApiTransport } from './api-transport.js';
import type { ClusterConnection } from './cluster-connection.js';
import { SERVICE_NAME_LABEL } from './endpoint-slice.js';
import { RequestDeadline, RequestTimeoutError } from './request-deadline.js';

/** What list and watch read: the collection's path, narrowed by a label selector. */
export interface Collection {
  /** `/apis/discovery.k8s.io/v1/namespaces/NS/endpointslices` */
  readonly path: string;
  /** `a=b,c=d`; empty selects every object of the collection. */
  readonly labelSelector: string;
  /** The list's kind, for messages: `EndpointSliceList`. */
  readonly kind: string;
}

/** The fields every listed object has. */
export interface ApiObject {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string };
}

export interface ObjectList<T extends ApiObject> {
  readonly items: T[];
  readonly resourceVersion: string;
}

export type WatchEvent<T extends ApiObject> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: { readonly metadata: { readonly resourceVersion: string } } };

export interface WatchHandlers<T extends ApiObject> {
  readonly onOpen: () => void;
  readonly onEvent: (e: WatchEvent<T>) => void;
}

export interface ApiClientOptions {
  readonly timers?: Timers;
  /** A list request (each page) must complete, and a watch get its response headers, within this. */
  readonly requestTimeoutMs?: number;
  /** How much longer than its timeoutSeconds a watch may stay silent before it is taken for dead. */
  readonly watchIdleSlackMs?: number;
  /** Slices per list page (`limit`). */
  readonly listPageSize?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_WATCH_IDLE_SLACK_MS = 30_000;
/** client-go's reflector pages by 500 too. */
export const DEFAULT_LIST_PAGE_SIZE = 500;

/** The EndpointSlices of one Service. */
export function serviceSlices(namespace: string, service: string): Collection {
  return { path: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`, labelSelector: `${SERVICE_NAME_LABEL}=${service}`, kind: 'EndpointSliceList' };
}

/** The pods of a namespace that `labelSelector` selects. */
export function namespacePods(namespace: string, labelSelector: string): Collection {
  return { path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, labelSelector, kind: 'PodList' };
}

interface ListPage<T> {
  readonly items?: T[] | null;
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
}

export class ApiClient {
  readonly #transport: ApiTransport;
  readonly #timers: Timers;
  readonly #requestTimeoutMs: number;
  readonly #watchIdleSlackMs: number;
  readonly #pageSize: number;

  constructor(connection: ClusterConnection, options: ApiClientOptions = {}) {
    this.#transport = new ApiTransport(connection);
    this.#timers = options.timers ?? realTimers;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#watchIdleSlackMs = options.watchIdleSlackMs ?? DEFAULT_WATCH_IDLE_SLACK_MS;
    this.#pageSize = options.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1) throw new RangeError(`listPageSize is ${this.#pageSize}: give a whole number of slices, at least 1`);
  }

  /**
   * Lists the collection, page by page; the resourceVersion is where a watch resumes.
   * @throws ApiStatusError, RequestTimeoutError, or a network error
   */
  async list<T extends ApiObject>(collection: Collection, signal: AbortSignal): Promise<ObjectList<T>> {
    const paged = await this.#listPages<T>(collection, this.#pageSize, signal);
    if (paged !== null) return paged;
    const whole = await this.#listPages<T>(collection, null, signal);
    if (whole === null) throw new ResourceExpiredError(`${this.#transport.server}: the list asked whole was paged, and its continue token expired`);
    return whole;
  }

  /**
   * Watches from `resourceVersion` until the server ends the stream (at `timeoutSeconds`): `onOpen`
   * once the server has accepted the watch, then `onEvent` for each event in order. Resolves on a
   * clean end.
   * @throws ResourceExpiredError (either form), ApiStatusError, RequestTimeoutError (no headers in
   *   time, or silent for too long), or a network error (a cut stream)
   */
  async watch<T extends ApiObject>(collection: Collection, resourceVersion: string, timeoutSeconds: number, handlers: WatchHandlers<T>, signal: AbortSignal): Promise<void> {
    const { onOpen, onEvent } = handlers;
    const query = [...selectorQuery(collection), 'watch=true', `resourceVersion=${encodeURIComponent(resourceVersion)}`, 'allowWatchBookmarks=true', `timeoutSeconds=${timeoutSeconds}`].join('&');
    const idleMs = timeoutSeconds * 1000 + this.#watchIdleSlackMs;
    let phase = `got no response headers within ${this.#requestTimeoutMs} ms`;
    const deadline = new RequestDeadline(this.#timers, signal, this.#requestTimeoutMs);
    try {
      const res = await this.#transport.get(`${collection.path}?${query}`, deadline.signal);
      phase = `was silent for ${idleMs} ms (timeoutSeconds ${timeoutSeconds} and ${this.#watchIdleSlackMs} ms more): taken for a dead connection`;
      deadline.extend(idleMs);
      onOpen();
      let buffered = '';
      res.body.setEncoding('utf8');
      for await (const chunk of res.body as AsyncIterable<string>) {
        deadline.extend(idleMs);
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line.length > 0) onEvent(parseEvent<T>(line, this.#transport.server));
        }
      }
      if (buffered.trim().length > 0) onEvent(parseEvent<T>(buffered.trim(), this.#transport.server));
    } catch (e) {
      if (deadline.expired) throw new RequestTimeoutError('watch', `${this.#transport.server}: the watch ${phase}`);
      throw e;
    } finally {
      deadline.dispose();
    }
  }

  /**
   * One object (`/api/v1/namespaces/NS/services/NAME`), which must arrive whole within the request timeout.
   * @throws ApiStatusError (404 when there is none), RequestTimeoutError, or a network error
   */
  async get<T>(path: string, signal: AbortSignal): Promise<T> {
    return this.#read<T>(path, 'get', signal);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  /** The pages merged, or null when a continue token expired (paging must start over). */
  async #listPages<T extends ApiObject>(collection: Collection, limit: number | null, signal: AbortSignal): Promise<ObjectList<T> | null> {
    const selector = selectorQuery(collection);
    const items: T[] = [];
    let resourceVersion: string | null = null;
    let next = '';
    do {
      const query = [...selector, ...(limit === null ? [] : [`limit=${limit}`]), ...(next === '' ? [] : [`continue=${encodeURIComponent(next)}`])].join('&');
      let page: ListPage<T>;
      try {
        page = await this.#read<ListPage<T>>(query === '' ? collection.path : `${collection.path}?${query}`, 'list', signal);
      } catch (e) {
        if (e instanceof ResourceExpiredError && next !== '') return null;
        throw e;
      }
      resourceVersion ??= page.metadata?.resourceVersion ?? null;
      if (resourceVersion === null) throw new Error(`${this.#transport.server}: the ${collection.kind} has no metadata.resourceVersion`);
      for (const s of page.items ?? []) items.push(s);
      const following = page.metadata?.continue ?? '';
      if (following !== '' && following === next) throw new Error(`${this.#transport.server}: the ${collection.kind} gave the same continue token twice`);
      next = following;
    } while (next !== '');
    return { items, resourceVersion };
  }

  /** One response body (a list page, an object), which must arrive whole within the request timeout. */
  async #read<T>(path: string, what: 'list' | 'get', signal: AbortSignal): Promise<T> {
    const deadline = new RequestDeadline(this.#timers, signal, this.#requestTimeoutMs);
    try {
      const res = await this.#transport.get(path, deadline.signal);
      return (await res.body.json()) as T;
    } catch (e) {
      if (deadline.expired) throw new RequestTimeoutError(what, `${this.#transport.server}: the ${what} did not complete within ${this.#requestTimeoutMs} ms`);
      throw e;
    } finally {
      deadline.dispose();
    }
  }
}

/** The `labelSelector=...` query parameter, or none for an empty selector. */
function selectorQuery(collection: Collection): string[] {
  return collection.labelSelector === '' ? [] : [`labelSelector=${encodeURIComponent(collection.labelSelector)}`];
}

function parseEvent<T extends ApiObject>(line: string, server: string): WatchEvent<T> {
  let e: { type?: string; object?: StatusObject & { metadata?: { resourceVersion?: string } } };
  try {
    e = JSON.parse(line) as typeof e;
  } catch (cause) {
    throw new Error(`${server}: a watch event is not JSON: ${line.slice(0, 120)}`, { cause });
  }
  switch (e.type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
    case 'BOOKMARK':
      if (typeof e.object?.metadata?.resourceVersion !== 'string') throw new Error(`${server}: a ${e.type} watch event has no metadata.resourceVersion`);
      return e as WatchEvent<T>;
    case 'ERROR': {
      const code = e.object?.code ?? 0;
      throw statusError(`${server}: watch ERROR ${code}`, code, e.object ?? {});
    }
    default:
      throw new Error(`${server}: a watch event of unknown type ${JSON.stringify(e.type)}`);
  }
}
