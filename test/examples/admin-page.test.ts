/**
 * The `--keep` admin page, driven in a real browser (Debian's chromium through playwright-core): add a page
 * through the form, see it listed and every worker reach its version, open it, delete it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isCI } from '@apphook/test-suite/services';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/servers.js';
import { repoRoot, type Started, start, tsxNodeArgs } from './processes.js';

const executablePath = process.env.APPHOOK_CHROMIUM ?? '/usr/bin/chromium';

/** Locally a missing browser skips with the reason; with CI=true it fails (no silent skips in CI). */
function requireChromium(): boolean {
  if (existsSync(executablePath)) return true;
  const message = `[apphook tests] no chromium at ${executablePath}; install it (apt-get install -y chromium) or set APPHOOK_CHROMIUM`;
  if (isCI) throw new Error(`${message}. CI=true: a missing browser is a failure.`);
  console.warn(`${message}. Skipping the admin page test locally.`);
  return false;
}

describe.skipIf(!requireChromium())('the demo admin page', () => {
  let demo: Started;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    demo = start(
      process.execPath,
      [...tsxNodeArgs, 'src/demo.ts', '--keep', '--port', String(port), '--workers', '2'],
      {
        cwd: join(repoRoot, 'examples/pages-site'),
        timeoutMs: 120_000,
      },
    );
    const [launched] = await Promise.all([
      chromium.launch({
        executablePath,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
      demo.waitFor(/keeps running/, 60_000),
    ]);
    browser = launched;
  });

  afterAll(async () => {
    await browser?.close();
    demo?.interrupt();
    await demo?.exited;
  });

  // Browser steps and worker builds on a loaded 2-core machine: the limits only catch a hang.
  it('adds, lists, serves and deletes a page, and shows every worker on the new version', {
    timeout: 180_000,
  }, async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${base}/admin`);
    await expect.poll(() => page.locator('#pages tbody tr').count()).toBeGreaterThan(0);
    const workerVersions = () => page.locator('#workers tbody tr td:nth-child(2)').allTextContents();
    await expect.poll(workerVersions).toHaveLength(2);

    // Add a page through the form.
    await page.fill('#add input[name=title]', 'Browser Test');
    await page.click('#add button');
    await expect.poll(() => page.textContent('#message')).toMatch(/^Committed version \d+\.$/);
    const added = Number((await page.textContent('#message'))?.match(/\d+/)?.[0]);
    const link = page.locator('#pages a[href="/browser-test"]');
    await expect.poll(() => link.count()).toBe(1);
    // The status view refreshes every second; both workers reach the new version after the commit.
    await expect.poll(workerVersions, { timeout: 60_000 }).toEqual([String(added), String(added)]);
    // The fleet view: both workers acknowledged the version through their announcements (G13).
    await expect
      .poll(() => page.textContent('#live'), { timeout: 60_000 })
      .toBe(`Version ${added} live on 2 of 2`);
    expect(await page.locator('#fleet tbody tr').count()).toBe(2);

    // Its link opens the new page (either worker: the proxy goes round robin).
    const [response] = await Promise.all([page.waitForNavigation(), link.click()]);
    expect(response?.status()).toBe(200);
    expect(await page.textContent('h1')).toBe('Browser Test');

    // Delete it.
    await page.goto(`${base}/admin`);
    await page.click('button[data-remove="/browser-test"]');
    await expect.poll(() => page.textContent('#message')).toBe(`Committed version ${added + 1}.`);
    await expect.poll(() => link.count()).toBe(0);
    await expect.poll(workerVersions, { timeout: 60_000 }).toEqual([String(added + 1), String(added + 1)]);
    for (const _ of [1, 2]) {
      const gone = await fetch(`${base}/browser-test`);
      await gone.arrayBuffer();
      expect(gone.status).toBe(404);
    }
    expect(pageErrors).toEqual([]);
  });
});
