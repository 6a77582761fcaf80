/**
 * A corpus of HTTP/1.1 request byte streams for the differential test of the request parser
 * against Node's own (test/http1/differential.test.ts): valid requests of every method, target
 * form, header shape and body framing, pipelined pairs, and the known malformed and smuggling
 * shapes. Generated, deterministic (a seeded RNG cuts chunked bodies), every name unique.
 */
import { seededRng } from '../../src/balancer/rng.js';
import { HTTP1_METHODS } from '../../src/http1/methods.js';

export interface CorpusCase {
  /** Unique; names the shape, for the exception list and failure messages. */
  readonly name: string;
  /** The bytes a client sends on one connection (latin1: one character per byte). */
  readonly bytes: string;
  /** Meant to be accepted whole: every request in it is well-formed under RFC 9112. */
  readonly valid: boolean;
}

const HOST = 'Host: shop.example\r\n';

/** A chunked encoding of `body` in pieces of random size, with the given size-line suffixes and trailer. */
function chunked(body: string, seed: number, extension = '', trailer = ''): string {
  const rng = seededRng(seed);
  let out = '';
  for (let i = 0; i < body.length; ) {
    const n = Math.min(body.length - i, 1 + rng.below(Math.max(1, Math.ceil(body.length / 3))));
    out += `${n.toString(16)}${extension}\r\n${body.slice(i, i + n)}\r\n`;
    i += n;
  }
  return `${out}0${extension}\r\n${trailer}\r\n`;
}

/** Every byte value once, for bodies: the framing must not care what the data is. */
const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

function validCases(): CorpusCase[] {
  const out: CorpusCase[] = [];
  const add = (name: string, bytes: string): void => void out.push({ name, bytes, valid: true });

  // Every method Node knows, with a target of the form it takes.
  for (const m of HTTP1_METHODS) {
    add(`method ${m}`, m === 'CONNECT' ? `CONNECT shop.example:443 HTTP/1.1\r\nHost: shop.example:443\r\n\r\n` : `${m} /m HTTP/1.1\r\n${HOST}\r\n`);
  }

  const targets = [
    '/', '/a/b/c', '/a?b=c&d=e', '/%41%zz%', '//double//slash', '/a;b,c=d', "/-._~!$&'()*+,;=:@", '/{}|\\^`"<>[]', '/?', '/#frag',
    '/x?q=/y?z', `/${'p'.repeat(2000)}`, 'http://shop.example/x?y=1', 'https://shop.example:8443/', 'HTTP://SHOP.EXAMPLE',
    'http://user:pw@shop.example/', 'http://[::1]:8080/v6', 'http://shop.example?q', 'ftp://shop.example/file', 'http://',
  ];
  for (const [i, t] of targets.entries()) add(`target ${i} ${t.slice(0, 30)}`, `GET ${t} HTTP/1.1\r\n${HOST}\r\n`);
  add('target asterisk OPTIONS', `OPTIONS * HTTP/1.1\r\n${HOST}\r\n`);
  add('target asterisk GET', `GET * HTTP/1.1\r\n${HOST}\r\n`);

  const headerShapes: [string, string][] = [
    ['no fields', ''],
    ['host only', HOST],
    ['browser-like', `${HOST}User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0\r\nAccept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: sid=abc123; theme=dark\r\nReferer: https://shop.example/\r\nSec-Fetch-Mode: navigate\r\nCache-Control: max-age=0\r\nIf-None-Match: "etag-1"\r\nX-Request-Id: 4bf92f3577b34da6a3ce929d0e0e4736\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n`],
    ['OWS variants', `${HOST}X-A:a\r\nX-B:    b\r\nX-C:\tc\t\r\nX-D: d  \r\nX-E: \t e \t f \t\r\n`],
    ['empty values', `${HOST}X-Empty:\r\nX-Space: \r\nX-Tab:\t\r\n`],
    ['obs-text values', `${HOST}X-Latin: caf\xe9 cr\xe8me\r\nX-High: \x80\x81\xfe\xff\r\n`],
    ['all tchar names', `${HOST}!#$%&'*+-.^_\`|~09azAZ: tchar\r\n`],
    ['repeated names', `${HOST}Cookie: a=1\r\nCookie: b=2\r\nx-dup: 1\r\nX-DUP: 2\r\nX-Dup: 3\r\n`],
    ['quotes and commas in values', `${HOST}X-Q: "a, b", c; d="e\\"f"\r\nX-Sym: !"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~\r\n`],
    ['long value', `${HOST}X-Long: ${'v'.repeat(4000)}\r\n`],
    ['many fields', `${HOST}${Array.from({ length: 90 }, (_, i) => `X-F${i}: ${i}\r\n`).join('')}`],
    ['connection options', `${HOST}Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n`],
    ['Host absent', 'Accept: */*\r\n'],
    ['two Hosts', `${HOST}Host: other.example\r\n`],
  ];
  for (const [shape, fields] of headerShapes) add(`headers ${shape}`, `GET /h HTTP/1.1\r\n${fields}\r\n`);

  // Bodies by Content-Length and chunked, with extensions and trailers.
  const bodies = ['', 'x', 'hello world', '{"k":"v"}', ALL_BYTES, 'z'.repeat(5000), '\r\n\r\n0\r\n\r\n'];
  for (const [i, body] of bodies.entries()) {
    add(`body length ${i} (${body.length} bytes)`, `POST /b HTTP/1.1\r\n${HOST}Content-Length: ${body.length}\r\n\r\n${body}`);
    if (body.length > 0) add(`body chunked ${i}`, `POST /b HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n${chunked(body, i)}`);
  }
  const chunkedForms: [string, string][] = [
    ['one chunk', '5\r\nhello\r\n0\r\n\r\n'],
    ['upper-case hex', 'A\r\n0123456789\r\n0\r\n\r\n'],
    ['lower-case hex', 'a\r\n0123456789\r\n0\r\n\r\n'],
    ['leading zeros', '0005\r\nhello\r\n000\r\n\r\n'],
    ['twenty leading zeros', '000000000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['token extension', '5;name=value\r\nhello\r\n0\r\n\r\n'],
    ['bare extension', '5;flag\r\nhello\r\n0;last\r\n\r\n'],
    ['quoted extension', '5;q="a b;c=d"\r\nhello\r\n0\r\n\r\n'],
    ['escaped extension', '5;q="a\\"b\\\\c"\r\nhello\r\n0\r\n\r\n'],
    ['several extensions', '5;a=1;b;c="3"\r\nhello\r\n0\r\n\r\n'],
    ['empty extension value', '5;a=\r\nhello\r\n0\r\n\r\n'],
    ['empty extension name', '5;=b\r\nhello\r\n0;=\r\n\r\n'],
    ['one trailer', '5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n'],
    ['trailers with OWS', '5\r\nhello\r\n0\r\nX-A:  1 \r\nX-B:\t2\r\nX-Empty:\r\n\r\n'],
    ['many one-byte chunks', `${'1\r\nx\r\n'.repeat(200)}0\r\n\r\n`],
    ['extension and trailer', chunked('the quick brown fox', 9, ';ext="v"', 'X-T: done\r\n')],
  ];
  for (const [form, body] of chunkedForms) add(`chunked ${form}`, `POST /c HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n${body}`);
  const codings = ['chunked', 'Chunked', 'CHUNKED', ' chunked', 'chunked ', 'chunked\t', 'gzip, chunked', 'gzip,chunked', 'gzip ;level=9, chunked', 'gzip;q="1,2", chunked'];
  for (const coding of codings) add(`coding ${JSON.stringify(coding)}`, `POST /c HTTP/1.1\r\n${HOST}Transfer-Encoding:${coding}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
  add('coding on two lines', `POST /c HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
  add('Content-Length leading zeros', `POST /b HTTP/1.1\r\n${HOST}Content-Length: 0005\r\n\r\nhello`);
  add('Content-Length with OWS', `POST /b HTTP/1.1\r\n${HOST}Content-Length: \t5 \r\n\r\nhello`);
  add('HEAD with Content-Length', `HEAD /b HTTP/1.1\r\n${HOST}Content-Length: 3\r\n\r\nabc`);
  add('GET with body', `GET /b HTTP/1.1\r\n${HOST}Content-Length: 3\r\n\r\nabc`);

  // A generated product: methods x targets x fields x bodies.
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const productTargets = ['/p', '/p?q=1', 'http://shop.example/p'];
  const productFields = ['', 'Accept: */*\r\nX-Trace: t1\r\n', 'Cookie: sid=1\r\nCookie: lang=en\r\nX-Empty:\r\n'];
  const productBodies: [string, (body: string, seed: number) => string][] = [
    ['none', () => '\r\n'],
    ['length', (body) => `Content-Length: ${body.length}\r\n\r\n${body}`],
    ['chunked', (body, seed) => `Transfer-Encoding: chunked\r\n\r\n${chunked(body, seed)}`],
    ['chunked trailer', (body, seed) => `Transfer-Encoding: chunked\r\n\r\n${chunked(body, seed, ';e=1', 'X-T: 1\r\n')}`],
  ];
  let seed = 100;
  for (const m of methods) {
    for (const [ti, t] of productTargets.entries()) {
      for (const [fi, f] of productFields.entries()) {
        for (const [kind, frame] of productBodies) {
          seed++;
          add(`product ${m} t${ti} f${fi} ${kind}`, `${m} ${t} HTTP/1.1\r\n${HOST}${f}${frame(`body ${seed} ${'b'.repeat(seed % 97)}`, seed)}`);
        }
      }
    }
  }

  // Versions, keep-alive, pipelines, the leniencies RFC 9112 allows.
  add('HTTP/1.0', 'GET /old HTTP/1.0\r\n\r\n');
  add('HTTP/1.0 keep-alive pipeline', 'GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n');
  add('HTTP/1.0 chunked', 'POST /old HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  add('pipelined GETs', `GET /1 HTTP/1.1\r\n${HOST}\r\nGET /2 HTTP/1.1\r\n${HOST}\r\n`);
  add('pipelined three', `GET /1 HTTP/1.1\r\n${HOST}\r\nHEAD /2 HTTP/1.1\r\n${HOST}\r\nDELETE /3 HTTP/1.1\r\n${HOST}\r\n`);
  add('pipelined length then GET', `POST /1 HTTP/1.1\r\n${HOST}Content-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\n${HOST}\r\n`);
  add('pipelined chunked then GET', `POST /1 HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\nGET /2 HTTP/1.1\r\n${HOST}\r\n`);
  add('pipelined chunked then chunked', `POST /1 HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n${chunked('first body', 1)}POST /2 HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n${chunked('second body', 2)}`);
  add('pipelined with empty line between', `POST /1 HTTP/1.1\r\n${HOST}Content-Length: 2\r\n\r\nok\r\nGET /2 HTTP/1.1\r\n${HOST}\r\n`);
  add('pipelined then close', `GET /1 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\nGET /2 HTTP/1.1\r\n${HOST}\r\n`);
  add('pipelined after HTTP/1.0', `GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.1\r\n${HOST}\r\n`);
  add('empty lines before the request line', `\r\n\r\nGET / HTTP/1.1\r\n${HOST}\r\n`);
  add('bare LF before the request line', `\nGET / HTTP/1.1\r\n${HOST}\r\n`);
  add('empty lines after the request', `GET / HTTP/1.1\r\n${HOST}\r\n\r\n\r\n`);
  add('several SP in the request line', `GET   /sp   HTTP/1.1\r\n${HOST}\r\n`);
  add('Expect 100-continue', `POST /e HTTP/1.1\r\n${HOST}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok`);
  add('Expect other', `GET /e HTTP/1.1\r\n${HOST}Expect: something\r\n\r\n`);
  add('WebSocket upgrade', `GET /ws HTTP/1.1\r\n${HOST}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  add('Upgrade without Connection', `GET /ws HTTP/1.1\r\n${HOST}Upgrade: websocket\r\n\r\n`);
  return out;
}

function invalidCases(): CorpusCase[] {
  const out: CorpusCase[] = [];
  const add = (name: string, bytes: string): void => void out.push({ name, bytes, valid: false });
  const post = (fields: string, body: string): string => `POST /s HTTP/1.1\r\n${HOST}${fields}\r\n${body}`;
  const body5 = '5\r\nhello\r\n0\r\n\r\n';

  // Content-Length with Transfer-Encoding, in every order and with every coding list.
  for (const te of ['chunked', 'gzip, chunked', 'gzip', 'identity']) {
    add(`CL then TE ${te}`, post(`Content-Length: 5\r\nTransfer-Encoding: ${te}\r\n`, body5));
    add(`TE ${te} then CL`, post(`Transfer-Encoding: ${te}\r\nContent-Length: 5\r\n`, body5));
  }
  add('CL empty with TE', post('Transfer-Encoding: chunked\r\nContent-Length: \r\n', body5));
  add('HTTP/1.0 CL and TE', `POST /s HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${body5}`);
  // Transfer-Encoding obfuscations.
  const badCodings = ['xchunked', 'chunkedx', 'chunk', 'chunked, identity', 'chunked, gzip', 'chunked , gzip', 'chunked, chunked', 'identity', 'gzip',
    'chunked;q=1', '"chunked"', ',chunked', 'chunked,', 'gzip,,chunked', 'x y, chunked', '', '\x0bchunked', 'chunked\x00', 'chun ked', 'chunked\x85'];
  for (const coding of badCodings) add(`TE ${JSON.stringify(coding)}`, post(`Transfer-Encoding: ${coding}\r\n`, body5));
  add('TE chunked twice on two lines', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', body5));
  add('TE chunked then gzip on two lines', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n', body5));
  add('TE folded', post('Transfer-Encoding:\r\n chunked\r\n', body5));
  add('TE line starting with SP', post(' Transfer-Encoding: chunked\r\n', body5));
  add('TE space before colon', post('Transfer-Encoding : chunked\r\n', body5));
  add('TE tab before colon', post('Transfer-Encoding\t: chunked\r\n', body5));
  add('TE name with underscore leaves the body as the next request', post('Transfer_Encoding: chunked\r\n', body5));
  // Content-Length forms.
  for (const cl of ['-1', '+5', '5 5', '5,5', '5, 5', '0x5', '5.0', '', ' ', 'five', '1e3', '18446744073709551616', '99999999999999999999', '５']) {
    add(`CL ${JSON.stringify(cl)}`, post(`Content-Length: ${cl}\r\n`, 'hello'));
  }
  add('CL twice different', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'));
  add('CL twice same', post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'));
  add('CL twice case differs', post('Content-Length: 5\r\ncontent-length: 5\r\n', 'hello'));
  add('CL body short', post('Content-Length: 10\r\n', 'hello'));
  add('CL 2^53', post('Content-Length: 9007199254740992\r\n', 'hello'));

  // Line endings: every CRLF of a request, made a bare LF or a bare CR in turn.
  const sample = `POST /le HTTP/1.1\r\n${HOST}X-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: 2\r\n\r\n`;
  const ends = [...sample.matchAll(/\r\n/g)].map((m) => m.index);
  for (const [k, at] of ends.entries()) {
    add(`bare LF at line end ${k}`, `${sample.slice(0, at)}\n${sample.slice(at + 2)}`);
    add(`bare CR at line end ${k}`, `${sample.slice(0, at)}\r${sample.slice(at + 2)}`);
  }
  add('bare CR inside a value', `GET / HTTP/1.1\r\n${HOST}X: a\rb\r\n\r\n`);
  add('bare LF inside a value', `GET / HTTP/1.1\r\n${HOST}X: a\nb\r\n\r\n`);
  add('all bare LF', 'GET / HTTP/1.1\nHost: a\n\n');

  // Controls in values: each C0 byte but HTAB, CR and LF, and DEL.
  for (let b = 0; b < 0x20; b++) {
    if (b === 0x09 || b === 0x0a || b === 0x0d) continue;
    add(`control 0x${b.toString(16)} in a value`, `GET / HTTP/1.1\r\n${HOST}X-Ctl: a${String.fromCharCode(b)}b\r\n\r\n`);
  }
  add('DEL in a value', `GET / HTTP/1.1\r\n${HOST}X-Ctl: a\x7fb\r\n\r\n`);
  // Field names.
  for (const c of ['(', ')', ',', '/', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '"', ' ', '\t', '\x80', '\x00']) {
    add(`name char ${JSON.stringify(c)}`, `GET / HTTP/1.1\r\n${HOST}X${c}Y: v\r\n\r\n`);
  }
  add('space before colon', `GET / HTTP/1.1\r\n${HOST}X-A : v\r\n\r\n`);
  add('empty name', `GET / HTTP/1.1\r\n${HOST}: v\r\n\r\n`);
  add('no colon', `GET / HTTP/1.1\r\n${HOST}NoColon\r\n\r\n`);
  add('obs-fold', `GET / HTTP/1.1\r\n${HOST}X-A: a\r\n b\r\n\r\n`);
  add('obs-fold tab', `GET / HTTP/1.1\r\n${HOST}X-A: a\r\n\tb\r\n\r\n`);
  add('whitespace before the first field', `GET / HTTP/1.1\r\n ${HOST}\r\n`);

  // Chunked framing.
  const chunkBodies: [string, string][] = [
    ['size 2^64', '10000000000000000\r\nhello\r\n0\r\n\r\n'],
    ['size 2^64+5', '10000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['size 2^53', '20000000000000\r\nhello\r\n0\r\n\r\n'],
    ['size leading space', ' 5\r\nhello\r\n0\r\n\r\n'],
    ['size trailing space', '5 \r\nhello\r\n0\r\n\r\n'],
    ['size leading tab', '\t5\r\nhello\r\n0\r\n\r\n'],
    ['size 0x', '0x5\r\nhello\r\n0\r\n\r\n'],
    ['size negative', '-5\r\nhello\r\n0\r\n\r\n'],
    ['size plus', '+5\r\nhello\r\n0\r\n\r\n'],
    ['size empty', '\r\nhello\r\n0\r\n\r\n'],
    ['size not hex', 'g\r\nhello\r\n0\r\n\r\n'],
    ['size with underscore', '0_5\r\nhello\r\n0\r\n\r\n'],
    ['data longer than size', '3\r\nhello\r\n0\r\n\r\n'],
    ['data shorter than size', '7\r\nhello\r\n0\r\n\r\n'],
    ['no CRLF after data', '5\r\nhello0\r\n\r\n'],
    ['LF only after data', '5\r\nhello\n0\r\n\r\n'],
    ['CR only after data', '5\r\nhello\r0\r\n\r\n'],
    ['junk after data', '5\r\nhelloXX\r\n0\r\n\r\n'],
    ['missing last chunk', '5\r\nhello\r\n'],
    ['missing final CRLF', '5\r\nhello\r\n0\r\n'],
    ['ext BWS before semicolon', '5 ;a=b\r\nhello\r\n0\r\n\r\n'],
    ['ext BWS after semicolon', '5; a=b\r\nhello\r\n0\r\n\r\n'],
    ['ext BWS before equals', '5;a =b\r\nhello\r\n0\r\n\r\n'],
    ['ext BWS after equals', '5;a= b\r\nhello\r\n0\r\n\r\n'],
    ['ext empty', '5;\r\nhello\r\n0\r\n\r\n'],
    ['ext two equals', '5;a=b=c\r\nhello\r\n0\r\n\r\n'],
    ['ext unterminated quote', '5;a="b\r\nhello\r\n0\r\n\r\n'],
    ['ext junk after quote', '5;a="b"c\r\nhello\r\n0\r\n\r\n'],
    ['ext control in quote', '5;a="\x01"\r\nhello\r\n0\r\n\r\n'],
    ['ext bad quoted-pair', '5;a="\\\x01"\r\nhello\r\n0\r\n\r\n'],
    ['ext obs-text token', '5;a=\x80\r\nhello\r\n0\r\n\r\n'],
    ['ext bare LF', '5;a=b\nhello\r\n0\r\n\r\n'],
    ['ext too long', `5;a=${'x'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`],
    ['trailer bad name', '5\r\nhello\r\n0\r\nBad Name: x\r\n\r\n'],
    ['trailer folded', '5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n'],
    ['trailer control', '5\r\nhello\r\n0\r\nX: a\x00\r\n\r\n'],
    ['trailer bare LF end', '5\r\nhello\r\n0\r\n\n'],
    ['trailer too large', `5\r\nhello\r\n0\r\nX-Big: ${'t'.repeat(20_000)}\r\n\r\n`],
  ];
  for (const [what, body] of chunkBodies) add(`chunked ${what}`, post('Transfer-Encoding: chunked\r\n', body));

  // Request lines.
  const lines = [
    'get / HTTP/1.1', 'Get / HTTP/1.1', 'FOO / HTTP/1.1', 'GETS / HTTP/1.1', 'G(T / HTTP/1.1', '\x00\x01 / HTTP/1.1', ' GET / HTTP/1.1', 'GET\t/ HTTP/1.1',
    'GET / HTTP/1.2', 'GET / HTTP/2.0', 'GET / HTTP/9.x', 'GET / HTTP/0.9', 'GET / HTTP/1', 'GET / HTTP/1.1.1', 'GET / HTTP/1.10', 'GET / http/1.1', 'GET / HTTPS/1.1', 'GET / HTTP/1.1 ',
    'GET /', 'GET', 'GET / ', '/ HTTP/1.1', 'GET /a b HTTP/1.1', 'GET /\x7f HTTP/1.1', 'GET /\x01 HTTP/1.1', 'GET /\x80 HTTP/1.1', 'GET /\tx HTTP/1.1',
    'GET a HTTP/1.1', 'GET ? HTTP/1.1', 'GET a:b HTTP/1.1', 'GET mailto:x@y HTTP/1.1', 'GET http:/a HTTP/1.1', 'GET http: HTTP/1.1', 'GET h+t.p://a HTTP/1.1',
    'GET http://a b/ HTTP/1.1', 'GET http://a#b HTTP/1.1', 'GET http://a{b}/ HTTP/1.1', 'GET http://a\\b/ HTTP/1.1', 'GET *x HTTP/1.1', 'GET ** HTTP/1.1',
    'HELLO WORLD', 'PRI * HTTP/2.0',
  ];
  for (const line of lines) add(`request line ${JSON.stringify(line)}`, `${line}\r\n${HOST}\r\n`);
  add('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  add('garbage', '\x00\x01\x02\x03\r\n\r\n');

  // Sizes.
  add('huge field', `GET / HTTP/1.1\r\n${HOST}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  add('huge target', `GET /${'a'.repeat(70_000)} HTTP/1.1\r\n${HOST}\r\n`);
  add('huge head of small fields', `GET / HTTP/1.1\r\n${HOST}${Array.from({ length: 90 }, (_, i) => `X-F${i}: ${'v'.repeat(250)}\r\n`).join('')}\r\n`);
  add('too many fields', `GET / HTTP/1.1\r\n${HOST}${'X: y\r\n'.repeat(150)}\r\n`);
  add('far too many fields', `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(3000)}\r\n`);

  // Unfinished and pipelined faults.
  add('head cut short', `GET / HTTP/1.1\r\n${HOST}`);
  add('request line cut short', 'GET / HTT');
  add('garbage after a good request', `GET / HTTP/1.1\r\n${HOST}\r\nGARBAGE AFTER\r\n\r\n`);
  add('smuggled request in a chunked body', post('Transfer-Encoding: chunked\r\n', '0\r\n\r\nGET /smuggled HTTP/1.1\r\nX: \x00\r\n\r\n'));
  add('CL.TE desync attempt', post('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\nG'));
  add('TE.CL desync attempt', post('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', '8\r\nSMUGGLED\r\n0\r\n\r\n'));
  add('TE.TE obfuscated desync attempt', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n', '5\r\nhello\r\n0\r\n\r\n'));
  return out;
}

/** The whole corpus: valid cases first. */
export function requestCorpus(): CorpusCase[] {
  const all = [...validCases(), ...invalidCases()];
  const names = new Set<string>();
  for (const c of all) {
    if (names.has(c.name)) throw new Error(`corpus name used twice: ${c.name}`);
    names.add(c.name);
  }
  return all;
}
