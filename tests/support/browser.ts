import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium), or CHROMIUM_PATH; Playwright downloads nothing. */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const chromiumPath = CANDIDATES.find((p): p is string => !!p && existsSync(p));

/**
 * Whether the browser suites run: they need a Chromium on the machine. Without one they are
 * skipped, unless QUARRY_BROWSER_REQUIRED is set (as .ci/run sets it after installing Chromium),
 * when its absence fails the suite instead.
 */
export const browserAvailable = chromiumPath !== undefined || process.env.QUARRY_BROWSER_REQUIRED === '1';

export function launchBrowser(): Promise<Browser> {
  if (!chromiumPath) throw new Error('no Chromium found: apt-get install chromium, or set CHROMIUM_PATH');
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
