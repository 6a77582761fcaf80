/**
 * Every 502, 503 and 504 the proxy sends is logged as a warning, whether or not the access log is
 * on: the pod (the endpoint of the last attempt, or null when no pod was picked), the cause (the
 * proxy's SG_ERR code, or that the pod answered so itself), the upstream error behind it (undici's
 * code and message), and for a request no endpoint could take, the NoPick reason (empty,
 * all-unavailable, saturated, owner-missing, no-range, no-key).
 *
 * Rate-limited, since a pod that dies turns into a burst of them: at most `perSecond` lines in
 * each second of the injected clock; the lines left out are counted and the next line written
 * says how many (`suppressed`), so none goes unaccounted.
 */
import type { Logger } from 'pino';
import type { Clock } from '../balancer/clock.js';
import type { NoPickReason } from '../balancer/balancer.js';
import type { ClientResponse } from '../proxy/client-response.js';
import type { ErrorReply } from '../proxy/error-reply.js';
import { NO_ENDPOINT_REPLIES } from '../proxy/error-reply.js';
import type { Exchange } from '../proxy/exchange.js';

export const DEFAULT_GATEWAY_ERRORS_PER_SECOND = 10;

/** The NoPick reason of each 503 the proxy answers for one. */
const REASONS: ReadonlyMap<ErrorReply, NoPickReason> = new Map(Object.entries(NO_ENDPOINT_REPLIES).map(([reason, reply]) => [reply, reason as NoPickReason]));

export class GatewayErrorLog {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #perSecond: number;
  #windowStartMs = -Infinity;
  #inWindow = 0;
  #suppressed = 0;

  constructor(log: Logger, clock: Clock, perSecond = DEFAULT_GATEWAY_ERRORS_PER_SECOND) {
    this.#log = log;
    this.#clock = clock;
    this.#perSecond = perSecond;
  }

  /** Lines left out and not yet reported. */
  get suppressed(): number {
    return this.#suppressed;
  }

  record(res: ClientResponse, exchange: Exchange | null): void {
    const status = res.headersSent ? res.statusCode : 0;
    if (status !== 502 && status !== 503 && status !== 504) return;
    const now = this.#clock.nowMs();
    if (now - this.#windowStartMs >= 1000) {
      this.#windowStartMs = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.#perSecond) {
      this.#suppressed++;
      return;
    }
    this.#inWindow++;
    const reply = res.reply;
    const err = exchange?.error ?? null;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    const endpoint = exchange?.endpoint ?? null;
    const reason = reply === null ? null : (REASONS.get(reply) ?? null);
    const cause = reply !== null ? reply.code : 'SG_UPSTREAM_STATUS';
    this.#log.warn(
      {
        status,
        endpoint,
        cause,
        upstreamError: err === null ? null : { code: errorCode(err), message: err.message },
        reason,
        attempts: exchange?.attempt ?? 0,
        method: res.req.method,
        path: exchange?.request.path ?? res.req.url,
        suppressed,
      },
      reply !== null
        ? `${status} ${reply.code}${endpoint === null ? '' : ` from ${endpoint}`}${reason === null ? '' : ` (${reason})`}: ${reply.message}`
        : `${status} answered by ${endpoint ?? 'the endpoint'}`,
    );
  }
}

function errorCode(err: Error): string | null {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}
