/**
 * The request parser against Node's own (llhttp, strict), on a corpus of several hundred request
 * streams (test/helpers/http1-request-corpus.ts): both must accept and refuse the same ones, and
 * hand the same method, target, fields, body and trailers on for those they accept. Where
 * shardgate departs from llhttp on purpose, the case is listed below with its reason, and the
 * proxy's node:http path is checked to refuse it as well, so that both paths into the proxy agree.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkedDecoder } from '../../src/http1/chunked.js';
import type { HeadLimits } from '../../src/http1/head-parse.js';
import { parseRequestHead } from '../../src/http1/request-head.js';
import { startBackends } from '../helpers/backends.js';
import type { CorpusCase } from '../helpers/http1-request-corpus.js';
import { requestCorpus } from '../helpers/http1-request-corpus.js';
import type { SeenRequest, StreamOutcome } from '../helpers/node-http1-oracle.js';
import { startNodeHttp1Oracle } from '../helpers/node-http1-oracle.js';
import { rawExchange, statusOf } from '../helpers/raw-http.js';
import { isDeepStrictEqual } from 'node:util';
import { startProxy } from '../proxy/harness.js';

const LIMITS: HeadLimits = { maxHeaderBytes: 16_384, maxHeaderCount: 100 };

/** A deliberate difference from llhttp. */
interface Exception {
  /** The corpus cases it covers. */
  readonly cases: readonly string[];
  /** Who refuses what the other takes. */
  readonly refusedBy: 'shardgate' | 'llhttp';
  /** The rule, with its RFC section. */
  readonly reason: string;
  /**
   * For shardgate's refusals: whether the proxy's node:http path refuses the case too (in its
   * route stage). 'forwards' marks a disagreement between the two paths still to be closed there.
   */
  readonly nodeProxy?: 'refuses' | 'forwards';
}

const EXCEPTIONS: readonly Exception[] = [
  {
    cases: ['request line "GET / HTTP/2.0"', 'request line "GET / HTTP/0.9"', 'request line "GET /"'],
    refusedBy: 'shardgate',
    reason: 'HTTP/1.0 and HTTP/1.1 only (RFC 9112 section 2.3): HTTP/2 has no request line (RFC 9113 section 3) and HTTP/0.9 no version or fields; llhttp takes both',
    nodeProxy: 'refuses',
  },
  {
    cases: ['request line "GET *x HTTP/1.1"', 'request line "GET ** HTTP/1.1"'],
    refusedBy: 'shardgate',
    reason: 'the asterisk form is "*" alone (RFC 9112 section 3.2.4); llhttp takes anything after a "*"',
    nodeProxy: 'refuses',
  },
  {
    cases: ['TE ",chunked"', 'TE "gzip,,chunked"', 'TE "x y, chunked"', 'TE ""'],
    refusedBy: 'shardgate',
    reason: 'Transfer-Encoding is a list of codings (RFC 9112 section 6.1, RFC 9110 section 5.6.1): no empty members, tokens only, not empty; llhttp takes these and reads chunked (or no body)',
    nodeProxy: 'refuses',
  },
  {
    cases: ['coding "chunked\\t"'],
    refusedBy: 'llhttp',
    reason: 'OWS after a field value, SP or HTAB, is not part of it (RFC 9110 section 5.5); llhttp takes a trailing SP after chunked but not a trailing HTAB (the node:http path answers 400 to a valid request)',
  },
];

/** What the request parser and the chunked decoder make of one connection's bytes, as the raw path reads them. */
function shardgateOutcome(bytes: string): StreamOutcome {
  const buf = Buffer.from(bytes, 'latin1');
  const requests: SeenRequest[] = [];
  const decoder = new ChunkedDecoder({ maxTrailerBytes: LIMITS.maxHeaderBytes, maxTrailerCount: LIMITS.maxHeaderCount });
  let pos = 0;
  while (pos < buf.length) {
    const r = parseRequestHead(buf, pos, buf.length, LIMITS);
    if (r.kind === 'invalid') return { requests, refused: true, why: r.error.code };
    if (r.kind === 'partial') {
      // Only empty lines left: the client stopped between requests.
      if (/^[\r\n]*$/.test(bytes.slice(pos))) break;
      return { requests, refused: true, why: 'unfinished head' };
    }
    const head = r.head;
    pos += r.length;
    if (head.method === 'CONNECT' || head.upgrade) {
      requests.push({ method: head.method, target: head.target, headers: head.headers, body: null, trailers: [] });
      break;
    }
    let body = '';
    let trailers: readonly string[] = [];
    if (head.body === 'length') {
      if (pos + head.contentLength > buf.length) return { requests, refused: true, why: 'unfinished body' };
      body = bytes.slice(pos, pos + head.contentLength);
      pos += head.contentLength;
    } else if (head.body === 'chunked') {
      decoder.reset();
      const used = decoder.push(buf, pos, buf.length, {
        data: (b, s, e) => {
          body += b.toString('latin1', s, e);
        },
      });
      if (used < 0) return { requests, refused: true, why: decoder.error!.code };
      if (!decoder.done) return { requests, refused: true, why: 'unfinished body' };
      pos += used;
      trailers = decoder.trailers;
    }
    requests.push({ method: head.method, target: head.target, headers: head.headers, body, trailers });
    if (!head.keepAlive) break;
  }
  return { requests, refused: false, why: '' };
}

function exceptionFor(name: string): Exception | undefined {
  return EXCEPTIONS.find((e) => e.cases.includes(name));
}

test('differential: shardgate and llhttp accept and refuse the same requests, and see the same in those they accept', async (t) => {
  const corpus = requestCorpus();
  const oracle = await startNodeHttp1Oracle(LIMITS);
  t.after(() => oracle.close());
  const results: { c: CorpusCase; ours: StreamOutcome; node: StreamOutcome }[] = [];
  // A few connections at a time: quick, and gentle on a shared machine.
  for (let i = 0; i < corpus.length; i += 16) {
    const batch = corpus.slice(i, i + 16);
    const nodes = await Promise.all(batch.map((c) => oracle.run(c.bytes)));
    for (const [k, c] of batch.entries()) results.push({ c, ours: shardgateOutcome(c.bytes), node: nodes[k]! });
  }
  const problems: string[] = [];
  const usedExceptions = new Set<string>();
  for (const { c, ours, node } of results) {
    // The corpus says what each case is meant to be; shardgate must agree with the corpus.
    if (c.valid && ours.refused) problems.push(`${c.name}: valid, but shardgate refused it (${ours.why})`);
    if (!c.valid && !ours.refused) problems.push(`${c.name}: invalid, but shardgate took it whole`);
    const same = ours.refused === node.refused && isDeepStrictEqual(ours.requests, node.requests);
    const exception = exceptionFor(c.name);
    if (exception !== undefined) {
      usedExceptions.add(c.name);
      const refuser = exception.refusedBy === 'shardgate' ? ours : node;
      const taker = exception.refusedBy === 'shardgate' ? node : ours;
      // The other takes more of the stream than the refuser: at least the request refused.
      if (same || !refuser.refused || taker.requests.length <= refuser.requests.length) {
        problems.push(`${c.name}: listed as refused by ${exception.refusedBy} only, but shardgate ${describe(ours)} and llhttp ${describe(node)}`);
      }
      continue;
    }
    if (!same) problems.push(`${c.name}: shardgate ${describe(ours)}; llhttp ${describe(node)}`);
  }
  for (const e of EXCEPTIONS) for (const name of e.cases) if (!results.some((r) => r.c.name === name)) problems.push(`exception for ${name}, which is not in the corpus`);
  const valid = corpus.filter((c) => c.valid).length;
  t.diagnostic(`${valid} valid, ${corpus.length - valid} invalid, ${usedExceptions.size} documented exceptions`);
  assert.ok(valid >= 300 && corpus.length - valid >= 200, `a corpus of ${valid} valid and ${corpus.length - valid} invalid`);
  assert.deepEqual(problems, []);
});

function describe(o: StreamOutcome): string {
  const seen = o.requests.map((r) => `${r.method} ${r.target.slice(0, 40)} ${r.headers.length / 2} fields ${r.body === null ? 'tunnel' : `${r.body.length}B`}${r.trailers.length > 0 ? ` +${r.trailers.length / 2} trailers` : ''}`);
  return `took [${seen.join('; ')}]${o.refused ? `, refused (${o.why})` : ''}`;
}

test('exceptions: what shardgate refuses beyond llhttp, the node:http proxy path refuses too', async (t) => {
  const corpus = new Map(requestCorpus().map((c) => [c.name, c]));
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  t.after(() => h.stop());
  for (const e of EXCEPTIONS) {
    if (e.refusedBy !== 'shardgate') continue;
    for (const name of e.cases) {
      const todo = e.nodeProxy === 'forwards' ? `the node:http path forwards it: ${e.reason}` : undefined;
      await t.test(name, { todo }, async () => {
        const before = backends[0]!.requests;
        const r = await rawExchange(h.port, corpus.get(name)!.bytes, { timeoutMs: 1_000 });
        const status = statusOf(r.text);
        assert.ok(status >= 400, `answered ${status}`);
        assert.equal(backends[0]!.requests, before, 'nothing reached the pod');
      });
    }
  }
});
