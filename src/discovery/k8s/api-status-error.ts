/**
 * The API server's refusals as errors: its answer's HTTP code (or a watch ERROR event's code), the
 * Status object's reason and message, and how long it asks a client to wait (Retry-After, sent with
 * 429 and with some 503s; https://kubernetes.io/docs/concepts/cluster-administration/flow-control/).
 * Pure: no I/O.
 */

/** The API server answered with an error status (or an ERROR watch event). */
export class ApiStatusError extends Error {
  readonly status: number;
  readonly reason: string | null;
  /** The wait the server asked for before the next request; null when it asked for none. */
  readonly retryAfterSeconds: number | null;
  constructor(status: number, reason: string | null, message: string, retryAfterSeconds: number | null = null) {
    super(message);
    this.name = 'ApiStatusError';
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The resourceVersion (or a list's continue token) is older than the server keeps: list again. */
export class ResourceExpiredError extends ApiStatusError {
  constructor(message: string) {
    super(410, 'Expired', message);
    this.name = 'ResourceExpiredError';
  }
}

/** The fields of a `Status` object (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/) read here. */
export interface StatusObject {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly retryAfterSeconds?: number } | null;
}

/**
 * The error for a refusal. `where` says what answered (`https://host: HTTP 403`, `...: watch ERROR
 * 500`); `retryAfter` is the Retry-After header's text, if any, which wins over the Status's
 * details.retryAfterSeconds.
 */
export function statusError(where: string, code: number, status: StatusObject, retryAfter: string | null = null): ApiStatusError {
  const message = `${where}${status.reason === undefined ? '' : ` ${status.reason}`}: ${status.message ?? ''}`.trimEnd();
  if (code === 410) return new ResourceExpiredError(message);
  return new ApiStatusError(code, status.reason ?? null, message, retryAfterSeconds(retryAfter, status));
}

/** Seconds from a Retry-After header (delta-seconds: what the API server sends) or the Status. */
function retryAfterSeconds(header: string | null, status: StatusObject): number | null {
  const fromHeader = header === null || !/^\s*\d+\s*$/.test(header) ? null : Number(header);
  if (fromHeader !== null) return fromHeader;
  const fromStatus = status.details?.retryAfterSeconds;
  return typeof fromStatus === 'number' && Number.isFinite(fromStatus) && fromStatus >= 0 ? fromStatus : null;
}
