/**
 * The two API calls discovery makes: list the EndpointSlices of one Service, and watch them from a
 * resourceVersion as a stream of newline-delimited JSON events
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
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
import type { EndpointSlice } from './endpoint-slice.js';
import { RequestDeadline, RequestTimeoutError } from './request-deadline.js';

export interface SliceList {
  readonly items: EndpointSlice[];
  readonly resourceVersion: string;
}

export type WatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: EndpointSlice }
  | { readonly type: 'BOOKMARK'; readonly object: { readonly metadata: { readonly resourceVersion: string } } };

export interface WatchHandlers {
  readonly onOpen: () => void;
  readonly onEvent: (e: WatchEvent) => void;
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

const SLICES_PATH = (ns: string): string => `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices`;

interface SliceListPage {
  readonly items?: EndpointSlice[] | null;
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
}

export class EndpointSliceClient {
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
   * Lists the Service's slices, page by page; the resourceVersion is where a watch resumes.
   * @throws ApiStatusError, RequestTimeoutError, or a network error
   */
  async list(namespace: string, service: string, signal: AbortSignal): Promise<SliceList> {
    const paged = await this.#listPages(namespace, service, this.#pageSize, signal);
    if (paged !== null) return paged;
    const whole = await this.#listPages(namespace, service, null, signal);
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
  async watch(namespace: string, service: string, resourceVersion: string, timeoutSeconds: number, handlers: WatchHandlers, signal: AbortSignal): Promise<void> {
    const { onOpen, onEvent } = handlers;
    const query = `labelSelector=${encodeURIComponent(`${SERVICE_NAME_LABEL}=${service}`)}&watch=true&resourceVersion=${encodeURIComponent(resourceVersion)}&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}`;
    const idleMs = timeoutSeconds * 1000 + this.#watchIdleSlackMs;
    let phase = `got no response headers within ${this.#requestTimeoutMs} ms`;
    const deadline = new RequestDeadline(this.#timers, signal, this.#requestTimeoutMs);
    try {
      const res = await this.#transport.get(`${SLICES_PATH(namespace)}?${query}`, deadline.signal);
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
          if (line.length > 0) onEvent(parseEvent(line, this.#transport.server));
        }
      }
      if (buffered.trim().length > 0) onEvent(parseEvent(buffered.trim(), this.#transport.server));
    } catch (e) {
      if (deadline.expired) throw new RequestTimeoutError('watch', `${this.#transport.server}: the watch ${phase}`);
      throw e;
    } finally {
      deadline.dispose();
    }
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  /** The pages merged, or null when a continue token expired (paging must start over). */
  async #listPages(namespace: string, service: string, limit: number | null, signal: AbortSignal): Promise<SliceList | null> {
    const selector = `labelSelector=${encodeURIComponent(`${SERVICE_NAME_LABEL}=${service}`)}`;
    const items: EndpointSlice[] = [];
    let resourceVersion: string | null = null;
    let next = '';
    do {
      const query = `${selector}${limit === null ? '' : `&limit=${limit}`}${next === '' ? '' : `&continue=${encodeURIComponent(next)}`}`;
      let page: SliceListPage;
      try {
        page = await this.#page(`${SLICES_PATH(namespace)}?${query}`, signal);
      } catch (e) {
        if (e instanceof ResourceExpiredError && next !== '') return null;
        throw e;
      }
      resourceVersion ??= page.metadata?.resourceVersion ?? null;
      if (resourceVersion === null) throw new Error(`${this.#transport.server}: the EndpointSliceList has no metadata.resourceVersion`);
      for (const s of page.items ?? []) items.push(s);
      const following = page.metadata?.continue ?? '';
      if (following !== '' && following === next) throw new Error(`${this.#transport.server}: the EndpointSliceList gave the same continue token twice`);
      next = following;
    } while (next !== '');
    return { items, resourceVersion };
  }

  /** One page, which must arrive whole within the request timeout. */
  async #page(path: string, signal: AbortSignal): Promise<SliceListPage> {
    const deadline = new RequestDeadline(this.#timers, signal, this.#requestTimeoutMs);
    try {
      const res = await this.#transport.get(path, deadline.signal);
      return (await res.body.json()) as SliceListPage;
    } catch (e) {
      if (deadline.expired) throw new RequestTimeoutError('list', `${this.#transport.server}: the list did not complete within ${this.#requestTimeoutMs} ms`);
      throw e;
    } finally {
      deadline.dispose();
    }
  }
}

function parseEvent(line: string, server: string): WatchEvent {
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
      return e as WatchEvent;
    case 'ERROR': {
      const code = e.object?.code ?? 0;
      throw statusError(`${server}: watch ERROR ${code}`, code, e.object ?? {});
    }
    default:
      throw new Error(`${server}: a watch event of unknown type ${JSON.stringify(e.type)}`);
  }
}
