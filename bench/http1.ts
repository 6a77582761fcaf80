/**
 * bench:http1: the cost of parsing one HTTP/1.1 head, shardgate's parsers beside Node's own.
 *
 * A typical request head (12 fields, about 500 bytes) and response head (11 fields), each parsed
 * from the same Buffer over and over: ns per head and bytes allocated per head. The reference is
 * Node's HTTPParser (llhttp compiled to native code, the parser behind node:http), driven the way
 * node:http drives it: execute() on the bytes, with the header list, method and URL handed to a
 * JavaScript callback as strings; what it costs is what the raw path saves or spends. A chunked
 * body (64 KiB in 1 KiB chunks) is decoded beside it as well, to show the decoder keeps up.
 *
 * Run with `npm run bench:http1`. It restarts node with --expose-gc and a young generation fixed
 * at 64 MiB a semi-space: a probe allocates well under that after a full collection, so no
 * scavenge runs inside it and the heap's growth is what the probe allocated.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ChunkedDecoder } from '../src/http1/chunked.js';
import type { ChunkSink } from '../src/http1/chunked.js';
import type { HeadLimits } from '../src/http1/head-parse.js';
import { parseRequestHead } from '../src/http1/request-head.js';
import { parseResponseHead } from '../src/http1/response-head.js';
import { markdownTable } from './common/markdown-table.js';

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const gc = globalThis.gc as () => void;

const ROUNDS = 15;
const PER_ROUND = 50_000;
/** Operations per allocation probe: a few MiB at most, so that no scavenge runs during it. */
const PROBE = 5_000;
const LIMITS: HeadLimits = { maxHeaderBytes: 16_384, maxHeaderCount: 100 };

const REQUEST = Buffer.from(
  [
    'GET /api/v1/accounts/4711/orders?limit=20&cursor=eyJpZCI6MTIzNH0 HTTP/1.1',
    'Host: shop.example.com',
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    'Accept: application/json, text/plain, */*',
    'Accept-Language: en-US,en;q=0.5',
    'Accept-Encoding: gzip, deflate, br',
    'Referer: https://shop.example.com/accounts/4711',
    'Cookie: sid=8f14e45fceea167a5a36dedd4bea2543; theme=dark',
    'X-Request-Id: 4bf92f3577b34da6a3ce929d0e0e4736',
    'Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'Sec-Fetch-Mode: cors',
    'Cache-Control: no-cache',
    'Connection: keep-alive',
    '',
    '',
  ].join('\r\n'),
  'latin1',
);

// Content-Length 0 so that Node's parser ends the message at the head, as shardgate's does.
const RESPONSE = Buffer.from(
  [
    'HTTP/1.1 200 OK',
    'Content-Type: application/json; charset=utf-8',
    'Content-Length: 0',
    'Date: Mon, 08 Dec 2026 01:30:00 GMT',
    'Server: orders/2.4.1',
    'Cache-Control: private, max-age=0, must-revalidate',
    'ETag: W/"5e8-1a2b3c4d"',
    'Vary: Accept-Encoding, Cookie',
    'X-Request-Id: 4bf92f3577b34da6a3ce929d0e0e4736',
    'Strict-Transport-Security: max-age=63072000',
    'Keep-Alive: timeout=5',
    'Connection: keep-alive',
    '',
    '',
  ].join('\r\n'),
  'latin1',
);

const BODY_CHUNKS = 64;
const CHUNKED_BODY = Buffer.from(`${`400\r\n${'b'.repeat(1024)}\r\n`.repeat(BODY_CHUNKS)}0\r\n\r\n`, 'latin1');
const CHUNKED_RESPONSE = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1'), CHUNKED_BODY]);

/** Node's HTTPParser, from its internal module, as node:http uses it. */
interface NodeParser {
  initialize(type: number, resource: object): void;
  execute(data: Buffer): number | Error;
  [key: number]: unknown;
}
interface NodeParserClass {
  new (): NodeParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: NodeParserClass };

/**
 * Whatever the parsers produce goes here, so that no work can be skipped as unused; kept a small
 * integer (`& 0xffff`): a number outside the small-integer range is a heap object, and each update
 * would allocate.
 */
let sink = 0;

function nodeParser(type: number): NodeParser {
  const p = new HTTPParser();
  p.initialize(type, {});
  // What node:http's own callback receives: the fields as strings, the method as an index, the URL.
  p[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, headers: string[], _method: number, url: string | undefined): void => {
    sink = (sink + headers.length + (url?.length ?? 0)) & 0xffff;
  };
  p[HTTPParser.kOnBody] = (b: Buffer): void => {
    sink = (sink + b.length) & 0xffff;
  };
  p[HTTPParser.kOnMessageComplete] = (): void => {
    sink = (sink + 1) & 0xffff;
  };
  return p;
}

const bodySink: ChunkSink = {
  data(_buf, start, end) {
    sink = (sink + end - start) & 0xffff;
  },
};

interface Case {
  readonly message: string;
  readonly parser: string;
  readonly bytes: number;
  readonly once: () => void;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench:http1: ${what}`);
}

function cases(): Case[] {
  const requestParser = nodeParser(HTTPParser.REQUEST);
  const responseParser = nodeParser(HTTPParser.RESPONSE);
  const chunkedParser = nodeParser(HTTPParser.RESPONSE);
  const decoder = new ChunkedDecoder({ maxTrailerBytes: 4096, maxTrailerCount: 32 });
  // Each must parse the message whole, or the numbers mean nothing.
  const req = parseRequestHead(REQUEST, 0, REQUEST.length, LIMITS);
  check(req.kind === 'done' && req.length === REQUEST.length && req.head.headers.length === 24, 'the request head does not parse');
  const res = parseResponseHead(RESPONSE, 0, RESPONSE.length, LIMITS, 'GET');
  check(res.kind === 'done' && res.length === RESPONSE.length && res.head.headers.length === 22, 'the response head does not parse');
  check(requestParser.execute(REQUEST) === REQUEST.length && responseParser.execute(RESPONSE) === RESPONSE.length, "Node's parser refuses the heads");
  return [
    {
      message: 'request head',
      parser: 'shardgate parseRequestHead',
      bytes: REQUEST.length,
      once: () => {
        const r = parseRequestHead(REQUEST, 0, REQUEST.length, LIMITS);
        if (r.kind === 'done') sink = (sink + r.length) & 0xffff;
      },
    },
    { message: 'request head', parser: 'node HTTPParser (ref)', bytes: REQUEST.length, once: () => void requestParser.execute(REQUEST) },
    {
      message: 'response head',
      parser: 'shardgate parseResponseHead',
      bytes: RESPONSE.length,
      once: () => {
        const r = parseResponseHead(RESPONSE, 0, RESPONSE.length, LIMITS, 'GET');
        if (r.kind === 'done') sink = (sink + r.length) & 0xffff;
      },
    },
    { message: 'response head', parser: 'node HTTPParser (ref)', bytes: RESPONSE.length, once: () => void responseParser.execute(RESPONSE) },
    {
      message: `chunked body ${BODY_CHUNKS} KiB`,
      parser: 'shardgate ChunkedDecoder',
      bytes: CHUNKED_BODY.length,
      once: () => {
        decoder.reset();
        sink = (sink + decoder.push(CHUNKED_BODY, 0, CHUNKED_BODY.length, bodySink)) & 0xffff;
      },
    },
    // The head is parsed too (about 1% of the bytes): Node's parser cannot start inside a body.
    { message: `chunked body ${BODY_CHUNKS} KiB`, parser: 'node HTTPParser (ref, + head)', bytes: CHUNKED_RESPONSE.length, once: () => void chunkedParser.execute(CHUNKED_RESPONSE) },
  ];
}

interface Measured {
  readonly ns: number;
  /** NaN when the heap shrank during a probe: a collection ran after all. */
  readonly bytesPerOp: number;
}

function repeat(c: Case, n: number): void {
  for (let i = 0; i < n; i++) c.once();
}

/** Bytes allocated per operation: the least of three probes (the first may still compile). */
function allocated(c: Case): number {
  let bytesPerOp = Infinity;
  for (let k = 0; k < 3; k++) {
    gc();
    const h0 = process.memoryUsage().heapUsed;
    repeat(c, PROBE);
    const grown = process.memoryUsage().heapUsed - h0;
    bytesPerOp = grown < 0 || Number.isNaN(bytesPerOp) ? NaN : Math.min(bytesPerOp, grown / PROBE);
  }
  return bytesPerOp;
}

/**
 * ns per operation, the best of ROUNDS rounds; the rounds of all cases take turns, so that the
 * load of a shared machine falls on shardgate and on the reference alike.
 */
function measureAll(list: readonly Case[]): Measured[] {
  const perRound = list.map((c) => (c.message.startsWith('chunked') ? PER_ROUND / 50 : PER_ROUND));
  for (const [k, c] of list.entries()) repeat(c, Math.min(perRound[k]!, 20_000));
  const best = list.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, c] of list.entries()) {
      const t0 = process.hrtime.bigint();
      repeat(c, perRound[k]!);
      best[k] = Math.min(best[k]!, Number(process.hrtime.bigint() - t0) / perRound[k]!);
    }
  }
  return list.map((c, k) => ({ ns: best[k]!, bytesPerOp: allocated(c) }));
}

const all = cases();
const measured = measureAll(all);
const results = all.map((c, k) => ({ c, m: measured[k]! }));
const rows = results.map(({ c, m }) => {
  const ref = results.find((r) => r.c.message === c.message && r.c.parser.includes('(ref'))!;
  return [
    c.message,
    c.parser,
    String(c.bytes),
    m.ns.toFixed(0),
    ((c.bytes / m.ns) * 1000).toFixed(0),
    Number.isNaN(m.bytesPerOp) ? '?' : m.bytesPerOp.toFixed(0),
    (m.ns / ref.m.ns).toFixed(2),
  ];
});
console.log(`bench:http1: node ${process.version}, best of ${ROUNDS} rounds of ${PER_ROUND} heads (chunked: ${PER_ROUND / 50} bodies)`);
console.log(markdownTable(['message', 'parser', 'bytes', 'ns/op', 'MB/s', 'B allocated/op', 'time vs node'], rows, 2));
if (sink === 0) console.log('(nothing parsed)');
