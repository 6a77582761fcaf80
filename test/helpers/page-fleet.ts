/**
 * A fleet for the admin page's tests: real pods on 127.0.0.1 that answer with their name (one
 * can be told to fail with 500, or to hold its answers), and the real `shardgate serve --admin`
 * over them, configured by a file. Everything is stopped by the test's `after` hooks.
 */
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Agent, request } from 'undici';
import { listenLoopback, Served, tempDir } from '../cli/run.js';

export interface PagePod {
  readonly name: string;
  /** `127.0.0.1:PORT`, once it listens. */
  address: string;
  /** Answers 500 while true (the page test ejects it this way). */
  failing: boolean;
  /** Answers only once released while set (in-flight counts). */
  hold: Promise<void> | null;
  requests: number;
}

export async function startPods(t: TestContext, count: number): Promise<PagePod[]> {
  const pods: PagePod[] = [];
  for (let i = 0; i < count; i++) {
    const pod: PagePod = { name: `pod-${i}`, address: '', failing: false, hold: null, requests: 0 };
    const server = http.createServer((req, res) => {
      pod.requests++;
      req.resume();
      const answer = (): void => {
        res.writeHead(pod.failing ? 500 : 200, { 'content-type': 'text/plain' });
        res.end(pod.name);
      };
      if (pod.hold === null) answer();
      else void pod.hold.then(answer);
    });
    pod.address = await listenLoopback(t, server);
    pods.push(pod);
  }
  return pods;
}

export interface RunningProxy {
  readonly served: Served;
  /** `http://127.0.0.1:PORT` of the proxy and of its admin listener. */
  readonly proxy: string;
  readonly admin: string;
  /** One request through the proxy with the key header; resolves to the status and the pod's name. */
  send(key: string | null): Promise<{ status: number; body: string }>;
}

/** `shardgate serve` over `pods` with ring hash on `x-account`, an admin listener, and `extra` merged into the config. */
export async function serveFleet(t: TestContext, pods: readonly PagePod[], extra: Record<string, unknown> = {}, args: readonly string[] = []): Promise<RunningProxy> {
  const dir = await tempDir(t);
  const file = join(dir, 'shardgate.json');
  const config = {
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    endpoints: pods.map((p) => ({ name: p.name, address: p.address })),
    balancer: { algorithm: 'ring-hash', boundedLoad: 1.25 },
    key: 'header:x-account',
    ...extra,
  };
  await writeFile(file, JSON.stringify(config));
  const served = new Served(t, ['serve', '--config', file, ...args]);
  const adminLine = await served.waitFor((l) => l.msg === 'admin listening', '"admin listening"');
  const { port } = await served.address();
  const agent = new Agent({ connections: 16 });
  t.after(() => agent.close());
  const proxy = `http://127.0.0.1:${port}`;
  return {
    served,
    proxy,
    admin: `http://${String(adminLine['address'])}`,
    send: async (key) => {
      const r = await request(proxy + '/', { dispatcher: agent, headers: key === null ? {} : { 'x-account': key } });
      return { status: r.statusCode, body: await r.body.text() };
    },
  };
}

/** GET of an admin path, as JSON. */
export async function adminJson<T>(admin: string, path: string): Promise<{ status: number; body: T }> {
  const r = await request(admin + path);
  return { status: r.statusCode, body: (await r.body.json()) as T };
}
