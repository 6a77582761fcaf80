/**
 * The raw HTTP/1.1 path (src/proxy/raw-front.ts) against Node's: two proxies over the same kind of
 * pod, one on each path, sent the same bytes. What the client gets back (but the Date line) and
 * what reaches the pod must be the same, for every framing both ways, HTTP/1.0 and 1.1, keep-alive
 * and close, pipelining, refusals; and the requests the rule leaves to Node's path must go there.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Client } from 'undici';
import type { RequestHead } from '../../src/http1/request-head.js';
import { parseRequestHead } from '../../src/http1/request-head.js';
import type { Http1Path } from '../../src/proxy/proxy.js';
import { defaultHttp1Path } from '../../src/proxy/proxy.js';
import { RawResponse } from '../../src/proxy/raw-response.js';
import { servedByRawPath } from '../../src/proxy/raw-front.js';
import { startBackend } from '../helpers/backends.js';
import { rawExchange } from '../helpers/raw-http.js';
import type { Harness } from './harness.js';
import { send, startProxy } from './harness.js';

/** What a pod answers, by path; every request it gets is written down, head and body. */
function pod(seen: string[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The pods listen on different ports: a Host naming one (the proxy sends the pod's own address
      // when the client sent none) is compared without it.
      const head = `${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}\n${req.rawHeaders.join('\n')}`.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT');
      seen.push(`${head}\n\n${Buffer.concat(chunks).toString('latin1')}`);
      const path = (req.url ?? '/').split('?')[0];
      switch (path) {
        case '/len':
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
          res.end('hello');
          return;
        case '/chunked':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('ab');
          setImmediate(() => res.end('cd'));
          return;
        case '/trailers':
          res.writeHead(200, { trailer: 'x-check' });
          res.write('body');
          res.addTrailers({ 'x-check': 'ok' });
          res.end();
          return;
        case '/no-content':
          res.writeHead(204, { 'x-a': '1' });
          res.end();
          return;
        case '/not-modified':
          res.writeHead(304, { etag: '"v1"' });
          res.end();
          return;
        case '/cookies':
          res.setHeader('set-cookie', ['a=1', 'b=2']);
          res.end('two cookies');
          return;
        case '/pod-closes':
          res.writeHead(200, { connection: 'close', 'content-length': '3' });
          res.end('bye');
          return;
        case '/error':
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('down');
          return;
        default:
          res.end(`path ${path ?? ''}`);
      }
    });
  };
}

interface Side {
  readonly h: Harness;
  readonly seen: string[];
  readonly kinds: string[];
}

async function side(path: Http1Path): Promise<Side> {
  const seen: string[] = [];
  const kinds: string[] = [];
  const backend = await startBackend('pod-0', pod(seen));
  const observer = { ended: (res: object): void => void kinds.push(res instanceof RawResponse ? 'raw' : 'node') };
  const h = await startProxy({ backends: [backend], keySource: 'header:x-tenant', proxy: { http1Path: path, observer } });
  return { h, seen, kinds };
}

/** Everything but the Date line, which differs by the second. */
function masked(text: string): string {
  return text.replace(/\r\ndate: [^\r]*/gi, '\r\nDate: -');
}

const END = 'GET /end HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';

/** Each request is followed by one that closes the connection, so both paths show their keep-alive handling. */
const CASES: readonly { readonly name: string; readonly bytes: string; readonly more?: readonly string[] }[] = [
  { name: 'Content-Length response', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\nx-tenant: t1\r\n\r\n' },
  { name: 'chunked response', bytes: 'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'trailers', bytes: 'GET /trailers HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n' },
  { name: 'HEAD of a Content-Length response', bytes: 'HEAD /len HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'HEAD of a chunked response', bytes: 'HEAD /chunked HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: '204', bytes: 'DELETE /no-content HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: '304', bytes: 'GET /not-modified HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n' },
  { name: 'two Set-Cookie lines', bytes: 'GET /cookies HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'the pod closes', bytes: 'GET /pod-closes HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: '5xx from the pod', bytes: 'GET /error HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'HTTP/1.0, chunked from the pod: body to the close', bytes: 'GET /chunked HTTP/1.0\r\nHost: a\r\n\r\n' },
  { name: 'HTTP/1.0 keep-alive with a length', bytes: 'GET /len HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n' },
  { name: 'HTTP/1.0 without Host', bytes: 'GET /len HTTP/1.0\r\n\r\n' },
  { name: 'Connection: close from the client', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' },
  { name: 'query, cookies, repeated fields, forwarding fields', bytes: 'GET /q?a=1&b=%20x HTTP/1.1\r\nHost: a:8080\r\nCookie: s=1\r\nCookie: t=2\r\nAccept: a\r\naccept: b\r\nX-Forwarded-For: 10.0.0.1\r\nX-Tenant: t9\r\n\r\n' },
  { name: 'hop-by-hop fields from the client', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: gzip\r\nProxy-Connection: x\r\n\r\n' },
  { name: 'OPTIONS and a path with odd characters', bytes: "OPTIONS /a/b;c=d/%7Ee!$&'()*+,@ HTTP/1.1\r\nHost: a\r\n\r\n" },
  { name: 'Content-Length: 0', bytes: 'POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n' },
  { name: 'a body', bytes: 'POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' },
  { name: 'a head and its body in three writes', bytes: 'PUT /len HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhel', more: ['lo w', 'orld'] },
  { name: 'two bodies pipelined', bytes: 'POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcPOST /chunked HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nde' },
  { name: 'a body the pod answers without reading... read whole here, so the next request follows', bytes: 'POST /error HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd' },
  { name: 'HTTP/1.0 with a body', bytes: 'POST /len HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi' },
  { name: 'a chunked body (Node\'s path)', bytes: 'PUT /len HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' },
  { name: 'absolute form (Node\'s path)', bytes: 'GET http://b:81/len HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'Expect other than 100-continue: 417 (Node\'s path)', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n' },
  { name: 'OPTIONS * (Node\'s path)', bytes: 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'no Host in HTTP/1.1: 400 from the route stage', bytes: 'GET /len HTTP/1.1\r\n\r\n' },
  { name: 'two Host lines: 400', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' },
  { name: 'space before a colon: refused by both parsers', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n' },
  { name: 'obs-fold: refused', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n' },
  { name: 'bare LF: refused', bytes: 'GET /len HTTP/1.1\nHost: a\n\n' },
  { name: 'unknown method: 501', bytes: 'BREW /len HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'CL and TE together: refused', bytes: 'POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' },
  { name: 'HTTP/1.2: refused', bytes: 'GET /len HTTP/1.2\r\nHost: a\r\n\r\n' },
  { name: 'three pipelined in one packet', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\n\r\nGET /chunked HTTP/1.1\r\nHost: a\r\n\r\nHEAD /len HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'a malformed request pipelined behind a good one', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP\r\n\r\n' },
  { name: 'a body request pipelined behind a raw one', bytes: 'GET /len HTTP/1.1\r\nHost: a\r\n\r\nPOST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi' },
];

test('the raw path and Node\'s give the client the same bytes and the pod the same requests', async (t) => {
  const raw = await side('raw');
  const node = await side('node');
  t.after(async () => {
    await raw.h.stop();
    await node.h.stop();
  });
  for (const c of CASES) {
    raw.seen.length = 0;
    node.seen.length = 0;
    // Parts written apart, so that the head and the body arrive in several reads.
    const parts = c.more === undefined ? [c.bytes + END] : [c.bytes, ...c.more.slice(0, -1), c.more[c.more.length - 1]! + END];
    const options = { gapMs: c.more === undefined ? 0 : 30 };
    const a = await rawExchange(raw.h.port, parts, options);
    const b = await rawExchange(node.h.port, parts, options);
    assert.equal(masked(a.text), masked(b.text), `${c.name}: the client's bytes`);
    assert.ok(a.text.startsWith('HTTP/1.1 '), `${c.name}: an answer: ${JSON.stringify(a.text)}`);
    assert.equal(a.closedByServer, b.closedByServer, `${c.name}: who closed`);
    assert.deepEqual(raw.seen, node.seen, `${c.name}: the pod's requests`);
  }
  t.diagnostic(`${CASES.length} cases; raw path served ${raw.kinds.filter((k) => k === 'raw').length} requests, Node's ${raw.kinds.filter((k) => k === 'node').length}`);
  assert.ok(node.kinds.every((k) => k === 'node'), 'with http1Path node, Node serves everything');
});

test('the rule: requests without a body or with a Content-Length one, in origin form, not upgrades, take the raw path; a connection stays on Node\'s once there', async (t) => {
  const raw = await side('raw');
  t.after(() => raw.h.stop());
  const client = new Client(raw.h.origin, { pipelining: 1 });
  t.after(() => client.close());
  for (let i = 0; i < 3; i++) assert.equal((await send(client, '/len')).status, 200);
  assert.deepEqual(raw.kinds, ['raw', 'raw', 'raw']);
  assert.equal((await send(client, '/len', { method: 'POST', body: 'x' })).status, 200);
  assert.deepEqual(raw.kinds.slice(3), ['raw'], 'a Content-Length body takes the raw path');
  // undici sends a stream of unknown length chunked.
  assert.equal((await send(client, '/len', { method: 'POST', body: Readable.from([Buffer.from('x')]) })).status, 200);
  assert.equal((await send(client, '/len')).status, 200);
  assert.deepEqual(raw.kinds.slice(4), ['node', 'node'], 'the chunked body and the next request on its connection went to Node\'s server');

  const head = (bytes: string): RequestHead => {
    const parsed = parseRequestHead(Buffer.from(bytes, 'latin1'), 0, bytes.length, { maxHeaderBytes: 16_384, maxHeaderCount: 100 });
    assert.equal(parsed.kind, 'done', bytes);
    return (parsed as { head: RequestHead }).head;
  };
  assert.equal(servedByRawPath(head('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), true);
  assert.equal(servedByRawPath(head('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n')), true);
  assert.equal(servedByRawPath(head('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n')), true);
  assert.equal(servedByRawPath(head('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n')), false);
  assert.equal(servedByRawPath(head('GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n')), false);
  assert.equal(servedByRawPath(head('GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n')), false);
  assert.equal(servedByRawPath(head('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n')), false);
  assert.equal(servedByRawPath(head('GET / HTTP/1.1\r\nHost: a\r\nEXPECT: x\r\n\r\n')), false);
});

test('SHARDGATE_HTTP1_PATH chooses the default path, and a bad value names the variable', () => {
  assert.equal(defaultHttp1Path({}), 'raw');
  assert.equal(defaultHttp1Path({ SHARDGATE_HTTP1_PATH: 'node' }), 'node');
  assert.equal(defaultHttp1Path({ SHARDGATE_HTTP1_PATH: 'raw' }), 'raw');
  assert.throws(() => defaultHttp1Path({ SHARDGATE_HTTP1_PATH: 'fast' }), /SHARDGATE_HTTP1_PATH.*raw or node/);
});
