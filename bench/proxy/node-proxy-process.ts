/**
 * The Node.js proxy a user would write instead of running shardgate, as a reference:
 *
 *   node node-proxy-process.js <http-proxy-3|reply-from> <round-robin|hash> <h1Port> <h2Port|-> <pod-0=127.0.0.1:PORT,...>
 *
 * - `http-proxy-3`: http-proxy-3 (1.x: 2.x needs Node 22) behind node:http, a keep-alive agent,
 *   `xfwd` for the forwarding headers. It has no HTTP/2 side; h2Port must be `-`.
 * - `reply-from`: fastify with @fastify/reply-from, which forwards on undici. h2c is a second
 *   fastify instance with `http2: true` (h2c with prior knowledge) forwarding the same way.
 *
 * Round robin is a counter; hashing is FNV-1a of the key header modulo the pod count, the
 * sharding such a proxy gets, with no bounded loads.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer } from 'node:http';
import replyFrom from '@fastify/reply-from';
import { fastify } from 'fastify';
import { createProxyServer } from 'http-proxy-3';
import { podPicker } from './node-proxy-picker.js';
import { CLIENT_HEADERS_TIMEOUT_S, CLIENT_IDLE_TIMEOUT_S, KEY_HEADER } from './scenario.js';

async function main(argv: readonly string[]): Promise<void> {
  const [flavor, mode, h1, h2, endpoints] = argv;
  if ((flavor !== 'http-proxy-3' && flavor !== 'reply-from') || (mode !== 'round-robin' && mode !== 'hash') || h1 === undefined || h2 === undefined || endpoints === undefined) {
    throw new Error(`usage: node-proxy-process <http-proxy-3|reply-from> <round-robin|hash> <h1Port> <h2Port|-> <name=host:port,...>; got ${argv.join(' ')}`);
  }
  const targets = endpoints.split(',').map((e) => `http://${e.slice(e.indexOf('=') + 1)}`);
  const pick = podPicker(mode, targets.length);
  if (flavor === 'http-proxy-3') {
    if (h2 !== '-') throw new Error('http-proxy-3 has no HTTP/2 listener: give - as h2Port');
    const proxy = createProxyServer({ agent: new Agent({ keepAlive: true, maxSockets: 256 }), xfwd: true });
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      proxy.web(req, res, { target: targets[pick(req.headers[KEY_HEADER])]! }, (err: Error) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err.message));
      });
    });
    server.keepAliveTimeout = CLIENT_IDLE_TIMEOUT_S * 1000;
    server.headersTimeout = CLIENT_HEADERS_TIMEOUT_S * 1000;
    await new Promise<void>((resolve) => server.listen(Number(h1), '127.0.0.1', resolve));
    return;
  }
  const upstream = (req: { readonly headers: Record<string, string | string[] | undefined>; readonly url: string }): string => targets[pick(req.headers[KEY_HEADER])]! + req.url;
  const forwardedFor = (ip: string) => (_req: unknown, headers: Record<string, unknown>) => ({ ...headers, 'x-forwarded-for': ip });
  const h1App = fastify({ logger: false, keepAliveTimeout: CLIENT_IDLE_TIMEOUT_S * 1000 });
  await h1App.register(replyFrom, { undici: { connections: 256 } });
  h1App.all('/*', (req, reply) => reply.from(upstream(req), { rewriteRequestHeaders: forwardedFor(req.ip) }));
  await h1App.listen({ port: Number(h1), host: '127.0.0.1' });
  if (h2 !== '-') {
    const h2App = fastify({ logger: false, http2: true });
    await h2App.register(replyFrom, { undici: { connections: 256 } });
    h2App.all('/*', (req, reply) => reply.from(upstream(req), { rewriteRequestHeaders: forwardedFor(req.ip) }));
    await h2App.listen({ port: Number(h2), host: '127.0.0.1' });
  }
}

await main(process.argv.slice(2));
