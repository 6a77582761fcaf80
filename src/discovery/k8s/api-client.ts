/**
 * The two API calls discovery makes, on undici: list the EndpointSlices of one Service, and watch
 * them from a resourceVersion as a stream of newline-delimited JSON events
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
 * Bookmarks are requested, so the resourceVersion to resume from stays recent even when nothing
 * changes. An expired resourceVersion comes back in either of its two forms (an HTTP 410, or a 200
 * whose stream carries an ERROR event with code 410); both become `ResourceExpiredError`.
 */
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { ClusterConnection } from './cluster-connection.js';
import { SERVICE_NAME_LABEL } from './endpoint-slice.js';
import type { EndpointSlice } from './endpoint-slice.js';

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

/** The API server answered with an error status (or an ERROR watch event). */
export class ApiStatusError extends Error {
  readonly status: number;
  readonly reason: string | null;
  constructor(status: number, reason: string | null, message: string) {
    super(message);
    this.name = 'ApiStatusError';
    this.status = status;
    this.reason = reason;
  }
}

/** The resourceVersion is older than the server keeps: list again. */
export class ResourceExpiredError extends ApiStatusError {
  constructor(message: string) {
    super(410, 'Expired', message);
    this.name = 'ResourceExpiredError';
  }
}

export interface ApiClientOptions {
  /** Time allowed for response headers. */
  readonly headersTimeoutMs?: number;
}

const SLICES_PATH = (ns: string): string => `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices`;

export class EndpointSliceClient {
  readonly #connection: ClusterConnection;
  readonly #agent: Agent;
  readonly #headersTimeoutMs: number;

  constructor(connection: ClusterConnection, options: ApiClientOptions = {}) {
    this.#connection = connection;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
    this.#agent = new Agent({
      connect: {
        ...(connection.ca === null ? {} : { ca: connection.ca }),
        ...(connection.cert === null ? {} : { cert: connection.cert }),
        ...(connection.key === null ? {} : { key: connection.key }),
        ...(connection.tlsServerName === null ? {} : { servername: connection.tlsServerName }),
        rejectUnauthorized: !connection.insecureSkipTlsVerify,
      },
    });
  }

  /** Lists the Service's slices; the resourceVersion is where a watch resumes. */
  async list(namespace: string, service: string, signal: AbortSignal): Promise<SliceList> {
    const res = await this.#get(`${SLICES_PATH(namespace)}?labelSelector=${encodeURIComponent(`${SERVICE_NAME_LABEL}=${service}`)}`, signal, this.#headersTimeoutMs * 3);
    const body = (await res.body.json()) as { items?: EndpointSlice[] | null; metadata?: { resourceVersion?: string } };
    const resourceVersion = body.metadata?.resourceVersion;
    if (typeof resourceVersion !== 'string') throw new Error(`${this.#connection.server}: the EndpointSliceList has no metadata.resourceVersion`);
    return { items: body.items ?? [], resourceVersion };
  }

  /**
   * Watches from `resourceVersion` until the server ends the stream (at `timeoutSeconds`): `onOpen`
   * once the server has accepted the watch, then `onEvent` for each event in order. Resolves on a
   * clean end.
   * @throws ResourceExpiredError (either form), ApiStatusError, or a network error (a cut stream)
   */
  async watch(namespace: string, service: string, resourceVersion: string, timeoutSeconds: number, handlers: WatchHandlers, signal: AbortSignal): Promise<void> {
    const { onOpen, onEvent } = handlers;
    const query = `labelSelector=${encodeURIComponent(`${SERVICE_NAME_LABEL}=${service}`)}&watch=true&resourceVersion=${encodeURIComponent(resourceVersion)}&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}`;
    // A stream silent for longer than the server's own timeout (plus slack) is dead, not idle.
    const res = await this.#get(`${SLICES_PATH(namespace)}?${query}`, signal, (timeoutSeconds + 30) * 1000);
    onOpen();
    let buffered = '';
    res.body.setEncoding('utf8');
    for await (const chunk of res.body as AsyncIterable<string>) {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line.length > 0) onEvent(parseEvent(line, this.#connection.server));
      }
    }
    if (buffered.trim().length > 0) onEvent(parseEvent(buffered.trim(), this.#connection.server));
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #get(path: string, signal: AbortSignal, bodyTimeoutMs: number): Promise<Dispatcher.ResponseData> {
    const token = this.#connection.token();
    const res = await request(`${this.#connection.server}${path}`, {
      method: 'GET',
      dispatcher: this.#agent,
      signal,
      headersTimeout: this.#headersTimeoutMs,
      bodyTimeout: bodyTimeoutMs,
      headers: { accept: 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    });
    if (res.statusCode === 200) return res;
    const text = await res.body.text().catch(() => '');
    let status: { reason?: string; message?: string } = {};
    try {
      status = JSON.parse(text) as typeof status;
    } catch {
      // Not a Status object (a proxy in the way): the raw text goes into the message below.
      status = { message: text.slice(0, 200) };
    }
    const message = `${this.#connection.server}: HTTP ${res.statusCode}${status.reason === undefined ? '' : ` ${status.reason}`}: ${status.message ?? ''}`.trimEnd();
    if (res.statusCode === 410) throw new ResourceExpiredError(message);
    throw new ApiStatusError(res.statusCode, status.reason ?? null, message);
  }
}

function parseEvent(line: string, server: string): WatchEvent {
  let e: { type?: string; object?: { code?: number; reason?: string; message?: string; metadata?: { resourceVersion?: string } } };
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
      const message = `${server}: watch ERROR ${code}${e.object?.reason === undefined ? '' : ` ${e.object.reason}`}: ${e.object?.message ?? ''}`.trimEnd();
      if (code === 410) throw new ResourceExpiredError(message);
      throw new ApiStatusError(code, e.object?.reason ?? null, message);
    }
    default:
      throw new Error(`${server}: a watch event of unknown type ${JSON.stringify(e.type)}`);
  }
}
