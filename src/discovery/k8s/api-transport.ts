/**
 * GET requests to the API server on undici, authenticated per request with the connection's
 * current credential: a bearer token header, and a client certificate on the TLS connection (one
 * Agent per certificate, so that a certificate an exec plugin renews is used from the next request
 * on, while requests already under way finish on the old one). A 401 to a credential that can be
 * renewed (an exec plugin's) renews it and tries once more. Any answer but 200 becomes an
 * ApiStatusError (410: ResourceExpiredError) carrying the Status's reason and the Retry-After.
 *
 * undici's own timeouts are off: callers bound each request with their signal (RequestDeadline),
 * since a watch may rightly stay silent for minutes.
 */
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { statusError } from './api-status-error.js';
import type { StatusObject } from './api-status-error.js';
import type { ClusterConnection, Credential } from './cluster-connection.js';

interface CertAgent {
  readonly cert: string | null;
  readonly key: string | null;
  readonly agent: Agent;
}

export class ApiTransport {
  readonly #connection: ClusterConnection;
  #current: CertAgent | null = null;
  /** Agents of certificates replaced since, closing once their requests end. */
  readonly #retired = new Set<Promise<void>>();

  constructor(connection: ClusterConnection) {
    this.#connection = connection;
  }

  get server(): string {
    return this.#connection.server;
  }

  /**
   * GETs `path` (with its query). Resolves with the 200 response, whose body the caller reads.
   * @throws ApiStatusError for any other status, ExecCredentialError when the credential cannot be
   *   had, or a network error
   */
  async get(path: string, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    let credential = await this.#connection.credential(signal);
    let res = await this.#send(path, credential, signal);
    if (res.statusCode === 401 && this.#connection.rejected(credential)) {
      await res.body.dump();
      credential = await this.#connection.credential(signal);
      res = await this.#send(path, credential, signal);
    }
    if (res.statusCode === 200) return res;
    const text = await res.body.text().catch(() => '');
    let status: StatusObject;
    try {
      status = JSON.parse(text) as StatusObject;
    } catch {
      // Not a Status object (a proxy in the way): the raw text goes into the message.
      status = { message: text.slice(0, 200) };
    }
    const retryAfter = res.headers['retry-after'];
    throw statusError(`${this.#connection.server}: HTTP ${res.statusCode}`, res.statusCode, status, typeof retryAfter === 'string' ? retryAfter : null);
  }

  async close(): Promise<void> {
    const closing = [...this.#retired];
    if (this.#current !== null) closing.push(this.#current.agent.close());
    this.#current = null;
    await Promise.all(closing);
  }

  #send(path: string, credential: Credential, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    return request(`${this.#connection.server}${path}`, {
      method: 'GET',
      dispatcher: this.#agentFor(credential),
      signal,
      headersTimeout: 0,
      bodyTimeout: 0,
      headers: { accept: 'application/json', ...(credential.token === null ? {} : { authorization: `Bearer ${credential.token}` }) },
    });
  }

  #agentFor(credential: Credential): Agent {
    const had = this.#current;
    if (had !== null && had.cert === credential.cert && had.key === credential.key) return had.agent;
    if (had !== null) {
      const closing = had.agent.close();
      this.#retired.add(closing);
      const forget = (): void => void this.#retired.delete(closing);
      closing.then(forget, forget);
    }
    const c = this.#connection;
    const agent = new Agent({
      connect: {
        ...(c.ca === null ? {} : { ca: c.ca }),
        ...(credential.cert === null ? {} : { cert: credential.cert }),
        ...(credential.key === null ? {} : { key: credential.key }),
        ...(c.tlsServerName === null ? {} : { servername: c.tlsServerName }),
        rejectUnauthorized: !c.insecureSkipTlsVerify,
      },
    });
    this.#current = { cert: credential.cert, key: credential.key, agent };
    return agent;
  }
}
