/**
 * The admin page in real headless Chromium, against the real `shardgate serve --admin` routing to
 * real pods on loopback: it loads without a console error or a failed request and asks nothing
 * outside 127.0.0.1, shows every pod, its charts move while traffic runs, a pod that fails until
 * outlier detection ejects it shows as ejected, the key box names the owner the directory and the
 * proxy agree on, and the key space is drawn with one segment per pod.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Locator } from 'playwright-core';
import { request } from 'undici';
import type { OwnerAnswer } from '../../src/directory/owner-answer.js';
import { PAGE_CSP } from '../../src/admin/page-routes.js';
import { ROOT } from '../cli/run.js';
import { launchChromium } from '../helpers/chromium.js';
import { adminJson, serveFleet, startPods } from '../helpers/page-fleet.js';

/** An attribute of every element a locator finds, in order (this program is typed without the DOM). */
async function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  return Promise.all((await locator.all()).map((l) => l.getAttribute(name)));
}

const OUTLIER = { consecutive5xx: 3, intervalMs: 200, baseEjectionTimeMs: 60_000, maxEjectionPercent: 50 };

test('admin page: serves its files with their types and a strict CSP, uPlot from the package', async (t) => {
  const pods = await startPods(t, 2);
  const fleet = await serveFleet(t, pods);
  const expected: [string, RegExp][] = [
    ['/', /^text\/html/],
    ['/page.js', /^text\/javascript/],
    ['/page.css', /^text\/css/],
    ['/uplot.js', /^text\/javascript/],
    ['/uplot.css', /^text\/css/],
  ];
  for (const [path, type] of expected) {
    const r = await request(fleet.admin + path);
    const body = await r.body.text();
    assert.equal(r.statusCode, 200, path);
    assert.match(String(r.headers['content-type']), type, path);
    assert.equal(r.headers['content-security-policy'], PAGE_CSP, path);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    assert.ok(body.length > 100, `${path} has a body`);
    if (path === '/') assert.doesNotMatch(body, /<script>|<style>|\sstyle=|\son\w+=/, 'no inline script or style');
  }
  assert.match(await (await request(fleet.admin + '/uplot.js')).body.text(), /uPlot/);
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; dependencies: Record<string, string> };
  assert.ok(manifest.files.includes('src/admin/page'), 'the page\'s files are packed');
  assert.match(manifest.dependencies['uplot'] ?? '', /^\d+\.\d+\.\d+$/, 'uPlot is a pinned dependency');
  const post = await request(fleet.admin + '/', { method: 'POST' });
  await post.body.dump();
  assert.equal(post.statusCode, 405);
});

test('admin page in Chromium: every pod, moving charts, an ejected pod, the key box, the key space', { timeout: 90_000 }, async (t) => {
  const pods = await startPods(t, 3);
  // One thread: its outlier detector decides alone, so the key box and the proxy agree on the ejected pod's keys.
  const fleet = await serveFleet(t, pods, { proxy: { outlier: OUTLIER } }, ['--workers', '1']);
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const problems: string[] = [];
  const hosts = new Set<string>();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on('request', (r) => hosts.add(new URL(r.url()).hostname));

  await page.goto(fleet.admin + '/');
  const rows = page.locator('#endpoints tbody tr');
  await rows.nth(2).waitFor();
  assert.deepEqual(await attributes(rows, 'data-endpoint'), ['pod-0', 'pod-1', 'pod-2']);
  assert.deepEqual(await attributes(rows, 'data-state'), ['ready', 'ready', 'ready']);

  // The key space: one segment per pod, in the ring and in the band.
  await page.locator('#keyspace path[data-segment]').first().waitFor();
  const segments = await attributes(page.locator('#keyspace path[data-segment]'), 'data-segment');
  assert.deepEqual([...segments].sort(), ['pod-0', 'pod-1', 'pod-2']);
  assert.equal(await page.locator('#keyspace [data-band]').count(), 3);
  // Ring hash: the ring itself around the shares, arcs of every pod.
  assert.deepEqual([...new Set(await attributes(page.locator('#keyspace path[data-arc]'), 'data-arc'))].sort(), ['pod-0', 'pod-1', 'pod-2']);

  // Traffic: the charts must move. Two samples of the request-rate chart's pixels and of the
  // table's rates, a few polls apart, while a load loop runs.
  let running = true;
  let sent = 0;
  const loop = (async () => {
    while (running) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => fleet.send(String((sent + i) % 500))));
      sent += 8;
    }
  })();
  try {
    const chart = page.locator('#chart-rps canvas');
    await chart.waitFor();
    const rates = (): Promise<string[]> => page.locator('#endpoints td.rps').allTextContents();
    // Polled from here: the page's CSP refuses the eval a string predicate would need.
    const busy = (texts: string[]): boolean => texts.some((r) => Number(r.replace(/,/g, '')) > 0);
    for (const deadline = Date.now() + 10_000; !busy(await rates()); ) {
      assert.ok(Date.now() < deadline, 'the page shows traffic within 10 s');
      await page.waitForTimeout(200);
    }
    const first = { pixels: await chart.evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL()), rates: await rates(), requests: await page.locator('#endpoints td.requests').allTextContents() };
    await page.waitForTimeout(2_500);
    const second = { pixels: await chart.evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL()), rates: await rates(), requests: await page.locator('#endpoints td.requests').allTextContents() };
    assert.notEqual(first.pixels, second.pixels, 'the request-rate chart was redrawn with new points');
    assert.notDeepEqual(first.requests, second.requests, 'the request counts moved');
    assert.ok(busy(second.rates), `some pod has traffic: ${second.rates.join(' ')}`);
    for (const id of ['#chart-inflight', '#chart-latency']) assert.equal(await page.locator(`${id} canvas`).count(), 1, `${id} is drawn`);
  } finally {
    running = false;
    await loop;
  }

  // The key box answers with the owner the directory names and the proxy routes to.
  await page.fill('#owner-key', '42');
  await page.click('#owner-form button');
  const owner = page.locator('#owner-result [data-owner]');
  await owner.waitFor();
  const shown = await owner.getAttribute('data-owner');
  const directory = await adminJson<OwnerAnswer>(fleet.admin, '/v1/owner?key=42');
  assert.equal(shown, directory.body.endpoint);
  assert.equal((await fleet.send('42')).body, shown, 'the proxy routes key 42 to the owner the page shows');
  const preference = await page.locator('#owner-result [data-preference]').allTextContents();
  assert.deepEqual(preference, directory.body.preference.slice(0, preference.length));
  assert.equal(preference[0], shown);

  // pod-2 fails until outlier detection ejects it; the page says so, with when it comes back.
  let victimKey: string | null = null;
  for (let k = 0; victimKey === null && k < 1_000; k++) {
    if ((await adminJson<OwnerAnswer>(fleet.admin, `/v1/owner?key=k${k}`)).body.endpoint === 'pod-2') victimKey = `k${k}`;
  }
  assert.ok(victimKey !== null, 'a key owned by pod-2');
  pods[2]!.failing = true;
  // Sent until ejected (the runs count this thread's answers only).
  const ejected = page.locator('#endpoints tbody tr[data-endpoint="pod-2"][data-state="ejected"]');
  for (let i = 0; i < 30 && (await adminJson<{ endpoints: { name: string; state: string }[] }>(fleet.admin, '/v1/status')).body.endpoints[2]!.state !== 'ejected'; i++) {
    await fleet.send(victimKey);
  }
  await ejected.waitFor({ timeout: 10_000 });
  assert.match((await ejected.locator('td.state-cell').textContent()) ?? '', /ejected\s*until .*consecutive-5xx/);
  assert.deepEqual(await attributes(rows, 'data-state'), ['ready', 'ready', 'ejected']);
  // The key box says where a key whose home is ejected goes now: where the proxy sends it.
  await page.fill('#owner-key', victimKey);
  await page.click('#owner-form button');
  const routed = page.locator('#owner-result [data-routed]');
  await routed.waitFor();
  pods[2]!.failing = false;
  assert.equal(await routed.getAttribute('data-routed'), (await fleet.send(victimKey)).body);

  // Hot keys: shown when the admin listener serves them, said to be unavailable otherwise.
  assert.match((await page.locator('#hotkeys').textContent()) ?? '', /hot keys: not available|req\/s/);
  assert.equal(await page.locator('#live').getAttribute('data-state'), 'ok');
  assert.deepEqual(problems, []);
  assert.deepEqual([...hosts], ['127.0.0.1'], 'the page asked nothing but its own admin listener');
});
