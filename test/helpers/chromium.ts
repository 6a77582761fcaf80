/**
 * Headless Chromium for the admin page's tests: Debian's `chromium` (installed by
 * scripts/ensure-system-deps.sh when missing; never a downloaded browser) driven by playwright-core.
 * The browser runs with a fresh profile and without any of its own network traffic (no
 * background networking, component updates, sync or QUIC), and its host resolver resolves
 * nothing but 127.0.0.1, so a page that tried to reach anything else would fail loudly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import { ROOT } from '../cli/run.js';

export const CHROMIUM = '/usr/bin/chromium';

/** A browser on a fresh profile (Playwright takes the profile as launchPersistentContext's argument, not as a flag). */
export async function launchChromium(t: TestContext): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) execFileSync('bash', [join(ROOT, 'scripts', 'ensure-system-deps.sh'), 'chromium'], { stdio: 'inherit' });
  const profile = await mkdtemp(join(tmpdir(), 'shardgate-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  t.after(async () => {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  });
  return browser;
}
