/**
 * The access log: one JSON line per request (pino), off by default, sampled by a rate, switchable
 * at run time (`POST /v1/access-log` on the admin listener; with workers, the supervisor tells
 * every worker). Fields: time, method, path, status, endpoint, keyHash (16 hex digits of the
 * key's xxHash64, never the key), attempts, upstreamMs, totalMs, bytesIn (the declared or
 * buffered body length; 0 for an unannounced stream), bytesOut, code (the proxy's SG_ERR code when
 * it answered itself).
 *
 * Sampling is by an injected Rng against the rate: a request not sampled costs one comparison when
 * the log is on, and one field read when it is off.
 */
import type { Logger } from 'pino';
import type { Rng } from '../balancer/rng.js';
import type { ClientResponse } from '../proxy/client-response.js';
import type { Exchange } from '../proxy/exchange.js';

export interface AccessLogSettings {
  readonly enabled: boolean;
  /** 0 to 1: the fraction of requests logged. */
  readonly sampleRate: number;
}

const TWO_32 = 4294967296;

export class AccessLog {
  readonly #log: Logger;
  readonly #rng: Rng;
  #enabled = false;
  #rate = 1;
  /** sampleRate x 2^32: a request is logged when the Rng's next uint32 is below it. */
  #threshold = TWO_32;

  constructor(log: Logger, rng: Rng, settings: AccessLogSettings) {
    this.#log = log;
    this.#rng = rng;
    this.configure(settings);
  }

  get settings(): AccessLogSettings {
    return { enabled: this.#enabled, sampleRate: this.#rate };
  }

  configure(settings: AccessLogSettings): void {
    this.#enabled = settings.enabled;
    this.#rate = settings.sampleRate;
    this.#threshold = settings.sampleRate * TWO_32;
  }

  record(res: ClientResponse, exchange: Exchange | null, nowMs: number): void {
    if (!this.#enabled) return;
    if (this.#threshold < TWO_32 && this.#rng.nextUint32() >= this.#threshold) return;
    const req = res.req;
    const key = exchange?.key ?? null;
    const declared = Number(req.headers['content-length'] ?? 0);
    const body = exchange?.request.body;
    this.#log.info({
      method: req.method,
      path: exchange?.request.path ?? req.url,
      status: res.headersSent ? res.statusCode : 0,
      endpoint: exchange?.endpoint ?? null,
      keyHash: key === null ? null : keyHash(key.hi, key.lo),
      attempts: exchange?.attempt ?? 0,
      upstreamMs: exchange === null ? null : round(exchange.upstreamMs),
      totalMs: round(nowMs - res.startedMs),
      bytesIn: Buffer.isBuffer(body) ? body.length : Number.isFinite(declared) ? declared : 0,
      bytesOut: exchange === null ? (res.reply?.body.length ?? 0) : exchange.bytesOut,
      code: res.reply?.code ?? null,
    });
  }
}

/** 16 hex digits of a key's 64-bit hash: the key's identity in logs without the key. */
export function keyHash(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
