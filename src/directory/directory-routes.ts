/**
 * The directory's HTTP endpoints, served on the admin listener (`shardgate serve --admin`) and by
 * `shardgate directory`:
 *
 *   GET  /v1/owner?key=K[&n=N][&generation=G][&HEADER=VALUE...]   one key's owner
 *   GET  /v1/owners?key=A&key=B...                                many keys
 *   POST /v1/owners  (a JSON array of key strings)                many keys
 *   GET  /v1/plan?add=NAME&remove=NAME&drain=NAME&replicas=N[&weight=W][&ranges]
 *   GET  /v1/assignments                                          members and shares now
 *   GET  /v1/assignments/watch                                    the stream (text/event-stream)
 *
 * Keys come from the query string decoded exactly as the proxy decodes a `query:` key source
 * (form decoding, `+` is a space, malformed percent-encoding kept as written), so `key=` carries
 * any key text; a subset selector header's value is passed as a parameter of the same name.
 * Answers are JSON; refusals are `{"error","code"}` with the codes of src/errors.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRoutes } from '../admin/admin-server.js';
import { replyJson } from '../admin/json-reply.js';
import { queryValue } from '../proxy/key-source.js';
import type { Directory, LookupOptions } from './directory.js';
import { DEFAULT_PREFERENCE, MAX_PREFERENCE } from './owner-answer.js';
import { parsePlanChange, QUERY_NAMES } from './plan.js';
import type { Refusal } from './refusal.js';
import { isRefusal, refusal } from './refusal.js';

export const OWNER_PATH = '/v1/owner';
export const OWNERS_PATH = '/v1/owners';
export const PLAN_PATH = '/v1/plan';
export const ASSIGNMENTS_PATH = '/v1/assignments';
export const WATCH_PATH = '/v1/assignments/watch';

/** The largest batch body read. */
export const MAX_BATCH_BYTES = 1_048_576;

export class DirectoryRoutes implements AdminRoutes {
  readonly paths: readonly string[] = [OWNER_PATH, OWNERS_PATH, PLAN_PATH, ASSIGNMENTS_PATH, WATCH_PATH];
  readonly #directory: Directory;

  constructor(directory: Directory) {
    this.#directory = directory;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    if (!this.paths.includes(path)) return false;
    const method = req.method ?? '';
    const allowed = path === OWNERS_PATH ? ['GET', 'POST'] : ['GET'];
    if (!allowed.includes(method)) {
      replyJson(res, 405, { error: `${method} is not allowed on ${path}: use ${allowed.join(' or ')}` }, { allow: allowed.join(', ') });
      return true;
    }
    const params = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    const lookup = this.#lookup(params);
    switch (path) {
      case OWNER_PATH:
        if (isRefusal(lookup)) return refuse(res, lookup);
        this.#owner(res, target, lookup);
        return true;
      case OWNERS_PATH:
        if (isRefusal(lookup)) return refuse(res, lookup);
        if (method === 'POST') this.#ownersOfBody(req, res, lookup);
        else answer(res, this.#directory.owners(keyValues(target), lookup));
        return true;
      case PLAN_PATH:
        this.#plan(res, params);
        return true;
      case ASSIGNMENTS_PATH:
        answer(res, this.#directory.assignments());
        return true;
      default: {
        const refused = this.#directory.watch(res);
        if (refused !== null) refuse(res, refused);
        return true;
      }
    }
  }

  #owner(res: ServerResponse, target: string, lookup: LookupOptions): void {
    const a = this.#directory.owner(queryValue(target, 'key'), lookup);
    if (isRefusal(a)) {
      refuse(res, a);
      return;
    }
    // No home: what the proxy answers such a request, with the answer beside it.
    if (a.endpoint === null) replyJson(res, 503, { ...a, error: `key ${JSON.stringify(a.key)} has no owner: ${a.reason ?? ''}`, code: 'SG_ERR_NO_ENDPOINT' });
    else replyJson(res, 200, a);
  }

  #ownersOfBody(req: IncomingMessage, res: ServerResponse, lookup: LookupOptions): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BATCH_BYTES) over = true;
      else chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (over) {
        refuse(res, refusal(400, 'SG_ERR_BATCH', `the batch body has ${size} bytes: send at most ${MAX_BATCH_BYTES}`));
        return;
      }
      let keys: unknown;
      try {
        keys = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        refuse(res, refusal(400, 'SG_ERR_BATCH', `the batch body is not JSON (${e instanceof Error ? e.message : String(e)}): send an array of key strings, ["acct-1","acct-2"]`));
        return;
      }
      if (!Array.isArray(keys)) {
        refuse(res, refusal(400, 'SG_ERR_BATCH', `the batch body is ${typeof keys === 'object' ? (keys === null ? 'null' : 'an object') : `a ${typeof keys}`}: send an array of key strings, ["acct-1","acct-2"]`));
        return;
      }
      answer(res, this.#directory.owners(keys, lookup));
    });
  }

  #plan(res: ServerResponse, params: URLSearchParams): void {
    const change = parsePlanChange(
      { add: params.getAll('add'), remove: params.getAll('remove'), drain: params.getAll('drain'), replicas: params.get('replicas'), weight: params.get('weight') },
      QUERY_NAMES,
    );
    answer(res, isRefusal(change) ? change : this.#directory.plan(change, { ranges: params.has('ranges') }));
  }

  #lookup(params: URLSearchParams): LookupOptions | Refusal {
    const n = params.get('n');
    const count = n === null ? DEFAULT_PREFERENCE : Number(n);
    if (!Number.isInteger(count) || count < 1 || count > MAX_PREFERENCE) {
      return refusal(400, 'SG_ERR_PARAMETER', `n is ${JSON.stringify(n)}: ask for 1 to ${MAX_PREFERENCE} names in preference`);
    }
    const g = params.get('generation');
    const generation = g === null ? null : Number(g);
    if (generation !== null && (!Number.isSafeInteger(generation) || generation < 1)) {
      return refusal(400, 'SG_ERR_PARAMETER', `generation is ${JSON.stringify(g)}: give a generation number the directory answered with, or leave it out for the current one`);
    }
    const headers = this.#directory.plane.subsets?.headers ?? [];
    const subset = headers.map((h) => params.get(h) ?? undefined);
    return { count, generation, subset };
  }
}

/** Every `key=` value of the target, decoded as the proxy decodes a query key. */
export function keyValues(target: string): string[] {
  const q = target.indexOf('?');
  if (q < 0) return [];
  const out: string[] = [];
  for (const part of target.slice(q + 1).split('&')) {
    if (part === 'key' || part.startsWith('key=')) out.push(queryValue(`?${part}`, 'key') ?? '');
  }
  return out;
}

function answer(res: ServerResponse, result: object): void {
  if (isRefusal(result)) refuse(res, result);
  else replyJson(res, 200, result);
}

function refuse(res: ServerResponse, r: Refusal): true {
  replyJson(res, r.status, { error: r.error, code: r.code });
  return true;
}
