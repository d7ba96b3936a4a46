/**
 * Driving the portal in a real browser: Debian's Chromium (`/usr/bin/chromium`, or
 * NEPHELE_CHROMIUM) through playwright-core, headless, trusting the hub's self-signed
 * certificate. Shared by the portal's browser tests and its benchmark.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The Chromium binary the portal is tested with. */
export function chromiumPath(): string {
  return process.env.NEPHELE_CHROMIUM ?? '/usr/bin/chromium';
}

/** Launches headless Chromium; throws a message saying how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  const path = chromiumPath();
  if (!existsSync(path)) throw new Error(`Chromium is not at ${path}: apt-get install chromium (or set NEPHELE_CHROMIUM to a Chromium binary)`);
  return chromium.launch({
    executablePath: path,
    headless: true,
    // Root cannot use Chromium's sandbox (CI containers run as root).
    chromiumSandbox: typeof process.getuid === 'function' && process.getuid() !== 0,
    args: ['--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A fresh page at 1280x800 that accepts the hub's certificate. */
export async function newPortalPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

/** Opens the portal at `path` (under /ui) and signs in with `token`; resolves once the app shows the navigation. */
export async function signIn(page: Page, hubUrl: string, token: string, path = '/'): Promise<void> {
  await page.goto(`${hubUrl}/ui${path}`);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}
