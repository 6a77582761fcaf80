/**
 * The metrics' endpoints on the admin listener:
 * - `GET /metrics`: the Prometheus text exposition of the whole process (process-metrics.ts),
 *   with prom-client's content type;
 * - `GET /v1/hot-keys[?n=N]`: `{"windowS", "keys": [{"key", "rate", "share", "endpoint"}]}`, the
 *   N (default and most 20) hottest routing keys, highest rate first;
 * - `GET /v1/access-log`: the access log's settings `{"enabled", "sampleRate"}`; `POST` with a JSON
 *   body of either or both fields changes them at run time (every worker's, with --workers) and
 *   answers the new settings.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRoutes } from '../admin/admin-server.js';
import { replyJson } from '../admin/json-reply.js';
import type { AccessLogSettings } from './access-log.js';
import { MAX_HOT_KEYS } from './hot-keys.js';
import type { ProcessMetrics } from './process-metrics.js';
import type { ThreadSnapshot } from './thread-metrics.js';

export const METRICS_PATH = '/metrics';
export const HOT_KEYS_PATH = '/v1/hot-keys';
export const ACCESS_LOG_PATH = '/v1/access-log';

/** The threads that route requests, as the admin listener reaches them. */
export interface RoutingThreads {
  /** Every thread's metrics and hot keys, collected now. */
  snapshots(): Promise<ThreadSnapshot[]>;
  readonly accessLog: AccessLogSettings;
  /** Applies to every thread. */
  setAccessLog(settings: AccessLogSettings): void;
}

/** Largest POST body read. */
const MAX_BODY = 1_024;

export class MetricsRoutes implements AdminRoutes {
  readonly paths = [METRICS_PATH, HOT_KEYS_PATH, ACCESS_LOG_PATH];
  readonly #process: ProcessMetrics;
  readonly #threads: RoutingThreads;

  constructor(process: ProcessMetrics, threads: RoutingThreads) {
    this.#process = process;
    this.#threads = threads;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    if (path !== METRICS_PATH && path !== HOT_KEYS_PATH && path !== ACCESS_LOG_PATH) return false;
    const method = req.method ?? 'GET';
    if (path === ACCESS_LOG_PATH && method === 'POST') {
      this.#postAccessLog(req, res);
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      const allow = path === ACCESS_LOG_PATH ? 'GET, HEAD, POST' : 'GET, HEAD';
      replyJson(res, 405, { error: `${method} is not allowed on ${path}: use ${allow}` }, { allow });
      return true;
    }
    if (path === ACCESS_LOG_PATH) {
      replyJson(res, 200, this.#threads.accessLog);
      return true;
    }
    const n = url.searchParams.get('n');
    const count = n === null ? MAX_HOT_KEYS : Number(n);
    if (path === HOT_KEYS_PATH && (!Number.isInteger(count) || count < 1 || count > MAX_HOT_KEYS)) {
      replyJson(res, 400, { error: `n is ${JSON.stringify(n)}: ask for 1 to ${MAX_HOT_KEYS} keys` });
      return true;
    }
    this.#threads.snapshots().then(
      async (snapshots) => {
        if (path === HOT_KEYS_PATH) {
          replyJson(res, 200, this.#process.hotKeys(snapshots, count));
          return;
        }
        const { text, contentType } = await this.#process.scrape(snapshots);
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
        res.end(method === 'HEAD' ? undefined : text);
      },
      (e: unknown) => replyJson(res, 500, { error: `the metrics could not be collected: ${e instanceof Error ? e.message : String(e)}` }),
    ).catch((e: unknown) => {
      if (!res.headersSent) replyJson(res, 500, { error: `the metrics could not be collected: ${e instanceof Error ? e.message : String(e)}` });
      else res.destroy();
    });
    return true;
  }

  #postAccessLog(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        if (!refused) replyJson(res, 413, { error: `the body is over ${MAX_BODY} bytes: send {"enabled": true|false, "sampleRate": 0..1}` });
        refused = true;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const parsed = parseAccessLogChange(Buffer.concat(chunks).toString('utf8'), this.#threads.accessLog);
      if (typeof parsed === 'string') {
        replyJson(res, 400, { error: parsed });
        return;
      }
      this.#threads.setAccessLog(parsed);
      replyJson(res, 200, parsed);
    });
    req.on('error', () => res.destroy());
  }
}

/** The settings after a change given as JSON, or what is wrong with it (field, value, what is allowed). */
export function parseAccessLogChange(text: string, current: AccessLogSettings): AccessLogSettings | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `the body is not JSON (${JSON.stringify(text.slice(0, 40))}): send {"enabled": true|false, "sampleRate": 0..1}`;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object: {"enabled": true|false, "sampleRate": 0..1}';
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (name !== 'enabled' && name !== 'sampleRate') return `${name} is not a setting of the access log: use enabled or sampleRate`;
  }
  const { enabled, sampleRate } = fields;
  if (enabled !== undefined && typeof enabled !== 'boolean') return `enabled is ${JSON.stringify(enabled)}: use true or false`;
  if (sampleRate !== undefined && (typeof sampleRate !== 'number' || !(sampleRate >= 0 && sampleRate <= 1))) return `sampleRate is ${JSON.stringify(sampleRate)}: use a number from 0 to 1 (the fraction of requests logged)`;
  return { enabled: enabled ?? current.enabled, sampleRate: sampleRate ?? current.sampleRate };
}
