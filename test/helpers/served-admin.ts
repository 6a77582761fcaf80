/**
 * `shardgate serve --admin` as the metrics tests drive it: the real binary on ephemeral ports,
 * requests through its proxy on fresh connections, and its admin endpoints (a scrape parsed by
 * prometheus-text.ts).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { TestContext } from 'node:test';
import { Served } from '../cli/run.js';
import { parsePrometheusText } from './prometheus-text.js';
import type { Scrape } from './prometheus-text.js';

export { send } from '../cli/run.js';
export type { Reply as Answer } from '../cli/run.js';

/** GET on the admin listener: status, content type and body. */
export function adminGet(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

export async function scrape(admin: number): Promise<Scrape> {
  const r = await adminGet(admin, '/metrics');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(r.body);
}

/** Starts `shardgate serve` with --admin on ephemeral ports: its proxy and admin ports. */
export async function serve(t: TestContext, args: readonly string[]): Promise<{ served: Served; port: number; admin: number }> {
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...args]);
  const adminLine = await served.waitFor((l) => l.msg === 'admin listening', '"admin listening"', 20_000);
  const { port } = await served.address();
  const admin = Number(/:(\d+)$/.exec(String(adminLine.address))![1]);
  t.after(() => served.stop());
  return { served, port, admin };
}
